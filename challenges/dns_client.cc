#include "challenges/dns_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/poll_wait.h"
#include "base/unique_fd.h"

namespace certkeeper::challenges::dns {
namespace {

using Clock = std::chrono::steady_clock;

using fs::UniqueFd;

struct SockAddr {
  sockaddr_storage storage{};
  socklen_t len = 0;
  int family = AF_INET;
};

Result<SockAddr> ToSockAddr(const ServerAddress& server) {
  SockAddr a;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.storage);
  if (inet_pton(AF_INET, server.ip.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(server.port);
    a.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, server.ip.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(server.port);
    a.len = sizeof(sockaddr_in6);
    a.family = AF_INET6;
  } else {
    return Status(ErrorCode::kInvalidArgument, "not an IP address: '" + server.ip + "'");
  }
  return a;
}

Status NetError(std::string what, const ServerAddress& server) {
  return Status(ErrorCode::kUnavailable, "DNS " + what + ": " + std::strerror(errno))
      .Where(server.ToString());
}

Status TimedOut(const ServerAddress& server, std::string_view proto) {
  return Status(ErrorCode::kDeadlineExceeded, "DNS query over " + std::string(proto) +
                                                  " timed out")
      .Where(server.ToString())
      .Hint("check that a DNS server listens at this address and port");
}

// Waits for fd to become ready for events; false on timeout.
Result<bool> WaitFor(int fd, short events, Clock::time_point deadline,
                     const ServerAddress& server) {
  Status ready = WaitForFd(fd, events, deadline, server.ToString());
  if (ready.code() == ErrorCode::kDeadlineExceeded) return false;
  CK_RETURN_IF_ERROR(ready.Annotate("DNS"));
  return true;
}

Result<std::string> ExchangeTcp(const ServerAddress& server, const SockAddr& addr,
                                std::string_view query, const Message& parsed_query,
                                Clock::time_point deadline) {
  UniqueFd fd(socket(addr.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return NetError("socket failed", server);
  Status connected = ConnectBefore(fd.get(), reinterpret_cast<const sockaddr*>(&addr.storage),
                                   addr.len, deadline, server.ToString());
  if (connected.code() == ErrorCode::kDeadlineExceeded) return TimedOut(server, "TCP");
  CK_RETURN_IF_ERROR(connected.Annotate("DNS over TCP"));
  // RFC 1035 §4.2.2: a two-octet length prefix.
  std::string out;
  AppendU16(out, static_cast<uint16_t>(query.size()));
  out += query;
  size_t sent = 0;
  while (sent < out.size()) {
    CK_ASSIGN_OR_RETURN(bool ok, WaitFor(fd.get(), POLLOUT, deadline, server));
    if (!ok) return TimedOut(server, "TCP");
    ssize_t n = send(fd.get(), out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return NetError("TCP send failed", server);
    sent += static_cast<size_t>(n);
  }
  std::string in;
  size_t want = 2;
  while (in.size() < want) {
    CK_ASSIGN_OR_RETURN(bool ok, WaitFor(fd.get(), POLLIN, deadline, server));
    if (!ok) return TimedOut(server, "TCP");
    char buf[4096];
    ssize_t n = recv(fd.get(), buf, std::min(sizeof(buf), want - in.size()), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return NetError("TCP receive failed", server);
    if (n == 0) {
      return Status(ErrorCode::kUnavailable, "DNS server closed the TCP connection early")
          .Where(server.ToString());
    }
    in.append(buf, static_cast<size_t>(n));
    if (want == 2 && in.size() == 2) {
      want = 2 + ((static_cast<uint8_t>(in[0]) << 8) | static_cast<uint8_t>(in[1]));
    }
  }
  std::string response = in.substr(2);
  CK_ASSIGN_OR_RETURN(Message parsed, DecodeMessage(response));
  if (!ResponseMatches(parsed_query, parsed)) {
    return Status(ErrorCode::kProtocol, "DNS response over TCP does not match the query")
        .Where(server.ToString());
  }
  return response;
}

}  // namespace

std::string ServerAddress::ToString() const {
  if (ip.find(':') != std::string::npos) return "[" + ip + "]:" + std::to_string(port);
  return ip + ":" + std::to_string(port);
}

Result<ServerAddress> ParseServerAddress(std::string_view text) {
  auto bad = [&](std::string why) {
    return Status(ErrorCode::kInvalidArgument,
                  "invalid DNS server address '" + std::string(text) + "': " + why)
        .Hint("write an IP address with an optional port: 192.0.2.53:53 or [2001:db8::53]:53");
  };
  ServerAddress out;
  std::string_view host = text;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close_at = text.find(']');
    if (close_at == std::string_view::npos) return bad("missing ']'");
    host = text.substr(1, close_at - 1);
    std::string_view rest = text.substr(close_at + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return bad("expected ':' after ']'");
      port = rest.substr(1);
      if (port.empty()) return bad("empty port");
    }
  } else if (size_t colon = text.find(':');
             colon != std::string_view::npos && text.find(':', colon + 1) == std::string_view::npos) {
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) return bad("empty port");
  }
  out.ip = std::string(host);
  in6_addr scratch;
  if (inet_pton(AF_INET, out.ip.c_str(), &scratch) != 1 &&
      inet_pton(AF_INET6, out.ip.c_str(), &scratch) != 1) {
    return bad("not an IP address");
  }
  if (!port.empty()) {
    unsigned value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || value > 65535) return bad("port is not a number 1-65535");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return bad("port is not a number 1-65535");
    out.port = static_cast<uint16_t>(value);
  }
  return out;
}

Result<ServerAddress> SystemResolver(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Status(ErrorCode::kNotFound, "cannot read the system resolver configuration")
        .Where(path)
        .Hint("set `resolver = \"ip:port\"` in [solvers.dns-01]");
  }
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string keyword, value;
    words >> keyword >> value;
    if (keyword != "nameserver") continue;
    if (size_t pct = value.find('%'); pct != std::string::npos) continue;  // scoped v6
    if (Result<ServerAddress> a = ParseServerAddress(value); a.ok()) return a;
  }
  return Status(ErrorCode::kNotFound, "no usable nameserver line")
      .Where(path)
      .Hint("set `resolver = \"ip:port\"` in [solvers.dns-01]");
}

uint16_t RandomMessageId() {
  uint16_t id = 0;
  if (RAND_bytes(reinterpret_cast<unsigned char*>(&id), sizeof(id)) != 1) {
    id = static_cast<uint16_t>(Clock::now().time_since_epoch().count());
  }
  return id;
}

bool ResponseMatches(const Message& query, const Message& response) {
  if (response.header.id != query.header.id || !response.header.qr ||
      response.header.opcode != query.header.opcode) {
    return false;
  }
  // A FORMERR or NOTIMP answer may omit the question section (RFC 6891 §7).
  if (response.questions.empty() && response.header.rcode != kRcodeNoError) return true;
  if (response.questions.size() != query.questions.size()) return false;
  for (size_t i = 0; i < query.questions.size(); ++i) {
    const Question& a = query.questions[i];
    const Question& b = response.questions[i];
    if (a.name != b.name || a.type != b.type || a.klass != b.klass) return false;
  }
  return true;
}

Result<std::string> NetDnsClient::Exchange(const ServerAddress& server, std::string_view query,
                                           std::chrono::milliseconds timeout) {
  Clock::time_point deadline = Clock::now() + timeout;
  CK_ASSIGN_OR_RETURN(SockAddr addr, ToSockAddr(server));
  CK_ASSIGN_OR_RETURN(Message parsed_query, DecodeMessage(query));
  UniqueFd fd(socket(addr.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return NetError("socket failed", server);
  // connect() makes the kernel drop datagrams from other sources.
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr.storage), addr.len) != 0) {
    return NetError("UDP connect failed", server);
  }
  if (send(fd.get(), query.data(), query.size(), 0) < 0) return NetError("UDP send failed", server);
  std::string buf(65535, '\0');
  while (true) {
    CK_ASSIGN_OR_RETURN(bool readable, WaitFor(fd.get(), POLLIN, deadline, server));
    if (!readable) return TimedOut(server, "UDP");
    ssize_t n = recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) return NetError("UDP receive failed", server);
    std::string_view datagram(buf.data(), static_cast<size_t>(n));
    Result<Message> parsed = DecodeMessage(datagram);
    if (!parsed.ok()) {
      // A truncated answer may be cut mid-record; only its header matters then.
      if (datagram.size() >= 12 && (static_cast<uint8_t>(datagram[2]) & 0x02) &&
          static_cast<uint8_t>(datagram[0]) == (parsed_query.header.id >> 8) &&
          static_cast<uint8_t>(datagram[1]) == (parsed_query.header.id & 0xFF)) {
        return ExchangeTcp(server, addr, query, parsed_query, deadline);
      }
      continue;
    }
    if (!ResponseMatches(parsed_query, *parsed)) continue;
    if (parsed->header.tc) return ExchangeTcp(server, addr, query, parsed_query, deadline);
    return std::string(datagram);
  }
}

Result<Message> Query(DnsClient& client, const ServerAddress& server, std::string_view name,
                      uint16_t type, bool rd, std::chrono::milliseconds timeout) {
  Message q;
  q.header.id = RandomMessageId();
  q.header.rd = rd;
  Question question;
  CK_ASSIGN_OR_RETURN(question.name, CanonicalName(name));
  question.type = type;
  q.questions.push_back(question);
  CK_ASSIGN_OR_RETURN(std::string wire, EncodeMessage(q));
  CK_ASSIGN_OR_RETURN(std::string response, client.Exchange(server, wire, timeout));
  CK_ASSIGN_OR_RETURN(Message parsed, DecodeMessage(response));
  if (!ResponseMatches(q, parsed)) {
    return Status(ErrorCode::kProtocol, "DNS response does not match the query")
        .Where(server.ToString());
  }
  return parsed;
}

}  // namespace certkeeper::challenges::dns
