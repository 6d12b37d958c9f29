#include "challenges/self_check.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <cstring>

#include "base/names.h"

namespace certkeeper::challenges {

namespace {

constexpr size_t kMaxTokenLength = 256;

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '_';
}

Status BadListen(std::string_view text, std::string why) {
  return Status(ErrorCode::kInvalidArgument,
                "invalid listen address \"" + std::string(text) + "\": " + std::move(why))
      .Hint("write host:port with a numeric address, e.g. \"0.0.0.0:80\", "
            "\"127.0.0.1:5002\", \"[::]:443\" or \":80\"");
}

// Normalizes a socket address to its numeric text form.
std::string NumericHost(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sa->sa_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
  } else if (sa->sa_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
    inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf));
  }
  return buf;
}

}  // namespace

bool ListenAddress::IsWildcard() const { return host == "0.0.0.0" || host == "::"; }

std::string ListenAddress::ToString() const {
  std::string out = ipv6 ? "[" + host + "]" : host;
  return out + ":" + std::to_string(port);
}

std::string ListenAddress::ConnectHost() const {
  if (!IsWildcard()) return host;
  return ipv6 ? "::1" : "127.0.0.1";
}

Result<ListenAddress> ParseListenAddress(std::string_view text) {
  ListenAddress out;
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return BadListen(text, "missing ']'");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return BadListen(text, "missing \":port\"");
    port = rest.substr(1);
    out.ipv6 = true;
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return BadListen(text, "missing \":port\"");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) {
      return BadListen(text, "an IPv6 address must be written in brackets");
    }
    if (host.empty()) host = "0.0.0.0";
  }
  int port_value = -1;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), port_value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() ||
      port_value < 0 || port_value > 65535) {
    return BadListen(text, "the port must be a number from 0 to 65535");
  }
  out.port = port_value;
  out.host = std::string(host);
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(out.ipv6 ? AF_INET6 : AF_INET, out.host.c_str(), buf) != 1) {
    return BadListen(text, "\"" + out.host + "\" is not a numeric " +
                               (out.ipv6 ? "IPv6" : "IPv4") + " address");
  }
  // Canonical text form, e.g. "::0" becomes "::".
  char canonical[INET6_ADDRSTRLEN] = {};
  inet_ntop(out.ipv6 ? AF_INET6 : AF_INET, buf, canonical, sizeof(canonical));
  out.host = canonical;
  return out;
}

Status ListenError(const ListenAddress& address, std::string_view solver_type, int err) {
  std::string what;
  std::string hint;
  ErrorCode code = ErrorCode::kUnavailable;
  switch (err) {
    case EADDRINUSE:
      what = "address in use";
      hint = "another program holds port " + std::to_string(address.port) +
             " (a web server?): stop it, configure another listen address for " +
             std::string(solver_type) + ", or use another challenge type";
      break;
    case EACCES:
    case EPERM:
      what = "permission denied";
      code = ErrorCode::kPermissionDenied;
      hint = "ports below 1024 need root or the CAP_NET_BIND_SERVICE capability";
      break;
    case EADDRNOTAVAIL:
      what = "address not available";
      code = ErrorCode::kInvalidArgument;
      hint = address.host + " is not an address of this host: listen on one of its "
             "addresses or on all of them (\":" + std::to_string(address.port) + "\")";
      break;
    case EAFNOSUPPORT:
      what = "address family not supported";
      code = ErrorCode::kInvalidArgument;
      hint = "this host has no " + std::string(address.ipv6 ? "IPv6" : "IPv4") +
             " support: listen on an address of the other family";
      break;
    default:
      what = strerror(err);
      break;
  }
  return Status(code, std::string(solver_type) + ": cannot listen on " +
                          address.ToString() + ": " + what)
      .Where(address.ToString())
      .Hint(std::move(hint));
}

constexpr int kListenBacklog = 1024;

Result<int> BindListener(const ListenAddress& address, std::string_view solver_type) {
  sockaddr_storage storage = {};
  socklen_t length = 0;
  if (address.ipv6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(address.port));
    inet_pton(AF_INET6, address.host.c_str(), &in6->sin6_addr);
    length = sizeof(sockaddr_in6);
  } else {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(address.port));
    inet_pton(AF_INET, address.host.c_str(), &in->sin_addr);
    length = sizeof(sockaddr_in);
  }
  int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ListenError(address, solver_type, errno);
  int yes = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  if (address.ipv6 && address.IsWildcard()) {
    // "[::]" means every IPv4 and IPv6 address, whatever the system default.
    int no = 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof(no));
  }
  // A long accept queue, so that a burst of connections from anyone does not
  // make the kernel drop the CA's SYN while the server catches up (the servers
  // bound what they hold once accepted).
  if (bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 ||
      listen(fd, kListenBacklog) != 0) {
    int err = errno;
    close(fd);
    return ListenError(address, solver_type, err);
  }
  return fd;
}

Status CheckCanBind(const ListenAddress& address, std::string_view solver_type) {
  CK_ASSIGN_OR_RETURN(int fd, BindListener(address, solver_type));
  close(fd);
  return Status::Ok();
}

Result<int> BoundPort(int fd) {
  sockaddr_storage storage = {};
  socklen_t length = sizeof(storage);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length) != 0) {
    return Status(ErrorCode::kIo, std::string("getsockname failed: ") + strerror(errno));
  }
  if (storage.ss_family == AF_INET6) {
    return static_cast<int>(ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port));
  }
  return static_cast<int>(ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port));
}

Status ValidateToken(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenLength) {
    return Status(ErrorCode::kProtocol, "challenge token has " +
                                            std::to_string(token.size()) +
                                            " characters; expected 1 to 256")
        .Hint("the ACME server sent a malformed challenge; report it to the CA");
  }
  for (char c : token) {
    if (!IsBase64UrlChar(c)) {
      return Status(ErrorCode::kProtocol,
                    "challenge token contains a character outside the base64url "
                    "alphabet (RFC 8555 §8.1)")
          .Hint("the ACME server sent a malformed challenge; report it to the CA");
    }
  }
  return Status::Ok();
}

Status ValidateKeyAuthorization(std::string_view token, std::string_view key_authorization) {
  std::string prefix = std::string(token) + ".";
  std::string_view thumbprint = key_authorization;
  bool ok = key_authorization.size() > prefix.size() &&
            key_authorization.substr(0, prefix.size()) == prefix;
  if (ok) {
    thumbprint.remove_prefix(prefix.size());
    for (char c : thumbprint) ok = ok && IsBase64UrlChar(c);
  }
  if (!ok) {
    return Status(ErrorCode::kInvalidArgument,
                  "key authorization is not token \".\" base64url(thumbprint) "
                  "(RFC 8555 §8.1)");
  }
  return Status::Ok();
}

Status ValidateTask(const ChallengeTask& task, std::string_view solver_type) {
  auto fail = [&](Status s) {
    return std::move(s).Annotate(std::string(solver_type) + " " + task.identifier);
  };
  if (task.wildcard) {
    return fail(Status(ErrorCode::kInvalidArgument,
                       "a wildcard name can only be validated with dns-01")
                    .Hint("list dns-01 among the challenges of this certificate"));
  }
  if (LooksLikeIpAddress(task.identifier)) {
    Result<std::string> ip = CanonicalIpAddress(task.identifier);
    if (!ip.ok()) return fail(ip.status());
    // The engine hands over the canonical form; anything else would be served
    // under a name the CA does not ask for (RFC 8738 §3).
    if (*ip != task.identifier) {
      return fail(Status(ErrorCode::kInvalidArgument,
                         "IP address identifier not in canonical form (expected " + *ip + ")"));
    }
  } else {
    Result<std::string> name = CanonicalDnsName(task.identifier, /*allow_wildcard=*/false);
    if (!name.ok()) return fail(name.status());
  }
  Status s = ValidateToken(task.token);
  if (!s.ok()) return fail(s);
  s = ValidateKeyAuthorization(task.token, task.key_authorization);
  if (!s.ok()) return fail(s);
  return Status::Ok();
}

bool IsIpIdentifier(std::string_view identifier) { return IsIpAddress(identifier); }

std::string UrlHost(std::string_view identifier) {
  if (identifier.find(':') != std::string_view::npos) return "[" + std::string(identifier) + "]";
  return std::string(identifier);
}

std::vector<std::string> ResolveAddresses(const std::string& name) {
  std::vector<std::string> out;
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (getaddrinfo(name.c_str(), nullptr, &hints, &result) != 0) return out;
  for (addrinfo* ai = result; ai != nullptr; ai = ai->ai_next) {
    std::string host = NumericHost(ai->ai_addr);
    if (!host.empty()) out.push_back(std::move(host));
  }
  freeaddrinfo(result);
  return out;
}

bool IsLocalAddress(const std::string& numeric_address) {
  in_addr v4;
  in6_addr v6;
  if (inet_pton(AF_INET, numeric_address.c_str(), &v4) == 1) {
    if ((ntohl(v4.s_addr) >> 24) == 127) return true;
  } else if (inet_pton(AF_INET6, numeric_address.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  } else {
    return false;
  }
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  bool found = false;
  for (ifaddrs* it = list; it != nullptr && !found; it = it->ifa_next) {
    if (it->ifa_addr == nullptr) continue;
    if (it->ifa_addr->sa_family != AF_INET && it->ifa_addr->sa_family != AF_INET6) continue;
    found = NumericHost(it->ifa_addr) == numeric_address;
  }
  freeifaddrs(list);
  return found;
}

}  // namespace certkeeper::challenges
