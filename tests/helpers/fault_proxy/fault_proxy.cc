// fault_proxy: an HTTPS reverse proxy in front of Pebble for the renewal
// end-to-end tests. It forwards every request to the upstream ACME server,
// verifying the upstream's TLS certificate with --ca-bundle, and keeps the
// client's Host header: Pebble builds every URL it returns from the Host of the
// request and checks a JWS "url" against it (RFC 8555 §6.4), so clients signing
// for the proxy's address are accepted and are sent back to the proxy. As a
// safety net the upstream authority is also rewritten to the proxy's in
// bodies and in Location and Link headers.
//
//   certkeeper_fault_proxy --port P --upstream 127.0.0.1:PEBBLE_PORT
//       --ca-bundle CA.pem --cert LISTENER.pem --key LISTENER.key
//       --control FILE --log FILE
//
// Faults come from the control file, read again for every request (a missing
// file means no faults). One rule per line, "#" starts a comment:
//   KIND 429 SECONDS   answer with a rateLimited problem and Retry-After
//   KIND 503           answer with a serverInternal problem, status 503
//   KIND stall         hold the request (without forwarding it) until the rule
//                      is removed from the file, at most 120 s, then forward it
// KIND is one of newOrder, finalize, newNonce, any (Pebble's endpoint paths).
// One more rule adds ACME Renewal Information (RFC 9773), which Pebble lacks:
//   renewalInfo START END [RETRY_AFTER]
//                      the directory gains "renewalInfo", and every renewalInfo
//                      GET is answered with the window [now+START, now+END]
//                      (seconds, may be negative) and that Retry-After
// One more adds ACME profiles (draft-ietf-acme-profiles), which Pebble 2.4 lacks:
//   profile NAME DESCRIPTION...
//                      one line per profile: the directory's "meta" gains
//                      "profiles": {NAME: DESCRIPTION, ...}; nothing else of the
//                      directory changes. Pebble 2.4 ignores a "profile" member
//                      in newOrder (Go's encoding/json drops unknown fields), so
//                      orders naming a profile are forwarded and issued as usual.
// Every request is appended to the log file as "METHOD KIND PATH", before any
// fault is applied, so tests count what reached the CA's front door; a newOrder
// that carries "replaces" (RFC 9773 §5) is logged with " replaces=ID", one that
// carries "profile" with " profile=NAME".
// "READY" is printed on stdout once the listener is bound.
#include <cctype>
#include <csignal>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

namespace {

struct Options {
  int port = 0;
  std::string upstream_host = "127.0.0.1";
  int upstream_port = 0;
  std::string ca_bundle;
  std::string cert;
  std::string key;
  std::string control;
  std::string log;
};

struct Rule {
  std::string kind;
  std::string action;  // "429", "503", "stall"; renewalInfo: the window start
  int seconds = 0;     // renewalInfo: the window end
  int retry_after = 0;  // renewalInfo only
  std::string text;     // profile: the description (the rest of the line)
};

httplib::Server* g_server = nullptr;

void Usage(const std::string& why) {
  std::cerr << "fault_proxy: " << why
            << "\nusage: certkeeper_fault_proxy --port P --upstream HOST:PORT --ca-bundle FILE "
               "--cert FILE --key FILE --control FILE --log FILE\n";
  std::exit(2);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  std::map<std::string, std::string> values;
  for (int i = 1; i < argc; i += 2) {
    std::string flag = argv[i];
    if (flag.rfind("--", 0) != 0 || i + 1 >= argc) Usage("bad argument " + flag);
    values[flag.substr(2)] = argv[i + 1];
  }
  for (const char* required : {"port", "upstream", "ca-bundle", "cert", "key", "control", "log"}) {
    if (!values.count(required)) Usage(std::string("missing --") + required);
  }
  o.port = std::atoi(values["port"].c_str());
  std::string up = values["upstream"];
  size_t colon = up.rfind(':');
  if (colon == std::string::npos) Usage("--upstream must be HOST:PORT");
  o.upstream_host = up.substr(0, colon);
  o.upstream_port = std::atoi(up.substr(colon + 1).c_str());
  if (o.port <= 0 || o.port > 65535 || o.upstream_port <= 0 || o.upstream_port > 65535) {
    Usage("ports must be 1..65535");
  }
  o.ca_bundle = values["ca-bundle"];
  o.cert = values["cert"];
  o.key = values["key"];
  o.control = values["control"];
  o.log = values["log"];
  return o;
}

// Pebble's endpoint paths (see its wfe package).
std::string KindOf(const std::string& path) {
  auto starts = [&](const char* p) { return path.rfind(p, 0) == 0; };
  if (path == "/dir") return "directory";
  if (starts("/nonce-plz")) return "newNonce";
  if (starts("/sign-me-up")) return "newAccount";
  if (starts("/order-plz")) return "newOrder";
  if (starts("/finalize-order/")) return "finalize";
  if (starts("/my-order/")) return "order";
  if (starts("/authZ/")) return "authorization";
  if (starts("/chalZ/")) return "challenge";
  if (starts("/certZ/")) return "certificate";
  if (starts("/revoke-cert")) return "revokeCert";
  if (starts("/renewal-info/")) return "renewalInfo";
  return "other";
}

std::vector<Rule> ReadRules(const std::string& path) {
  std::vector<Rule> rules;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    size_t hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream words(line);
    Rule r;
    if (!(words >> r.kind >> r.action)) continue;
    if (r.kind == "profile") {
      std::getline(words >> std::ws, r.text);
      while (!r.text.empty() && std::isspace(static_cast<unsigned char>(r.text.back()))) {
        r.text.pop_back();
      }
    } else {
      words >> r.seconds >> r.retry_after;
    }
    rules.push_back(r);
  }
  return rules;
}

const Rule* Match(const std::vector<Rule>& rules, const std::string& kind) {
  for (const Rule& r : rules) {
    if (r.kind == kind || r.kind == "any") return &r;
  }
  return nullptr;
}

void ReplaceAll(std::string& s, const std::string& from, const std::string& to) {
  if (from.empty()) return;
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
}

void Problem(httplib::Response& res, int status, const std::string& type,
             const std::string& detail) {
  res.status = status;
  res.set_content("{\"type\":\"urn:ietf:params:acme:error:" + type + "\",\"detail\":\"" + detail +
                      "\",\"status\":" + std::to_string(status) + "}",
                  "application/problem+json");
}

std::string Rfc3339(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The string member `name` of a JWS-signed request's payload, or "".
std::string PayloadMember(const std::string& jws_body, const std::string& name) {
  auto jws = nlohmann::json::parse(jws_body, nullptr, false);
  if (!jws.is_object() || !jws.contains("payload") || !jws["payload"].is_string()) return "";
  // base64url without padding (RFC 7515 §2); anything else ends the payload.
  std::string payload;
  unsigned bits = 0;
  int count = 0;
  for (char c : jws["payload"].get<std::string>()) {
    int v = c >= 'A' && c <= 'Z'   ? c - 'A'
            : c >= 'a' && c <= 'z' ? c - 'a' + 26
            : c >= '0' && c <= '9' ? c - '0' + 52
            : c == '-'             ? 62
            : c == '_'             ? 63
                                   : -1;
    if (v < 0) break;
    bits = (bits << 6) | static_cast<unsigned>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      payload += static_cast<char>((bits >> count) & 0xff);
    }
  }
  auto order = nlohmann::json::parse(payload, nullptr, false);
  if (!order.is_object() || !order.contains(name) || !order[name].is_string()) return "";
  return order[name];
}

// The directory with "meta.profiles" set from the profile rules; any other
// member is kept as the CA sent it. A body that is not a JSON object is
// returned unchanged.
std::string WithProfiles(const std::string& body, const std::vector<Rule>& rules) {
  nlohmann::json profiles = nlohmann::json::object();
  for (const Rule& r : rules) {
    if (r.kind == "profile") profiles[r.action] = r.text;
  }
  if (profiles.empty()) return body;
  auto directory = nlohmann::json::parse(body, nullptr, false);
  if (!directory.is_object()) return body;
  if (!directory.contains("meta") || !directory["meta"].is_object()) {
    directory["meta"] = nlohmann::json::object();
  }
  directory["meta"]["profiles"] = profiles;
  return directory.dump(2);
}

}  // namespace

int main(int argc, char** argv) {
  Options opt = ParseArgs(argc, argv);
  httplib::SSLServer server(opt.cert.c_str(), opt.key.c_str());
  if (!server.is_valid()) Usage("cannot load --cert/--key");
  g_server = &server;
  std::signal(SIGTERM, [](int) {
    if (g_server) g_server->stop();
  });
  std::mutex log_mu;
  const std::string upstream_authority =
      opt.upstream_host + ":" + std::to_string(opt.upstream_port);
  const std::string own_authority = "127.0.0.1:" + std::to_string(opt.port);

  auto handle = [&](const httplib::Request& req, httplib::Response& res) {
    std::string kind = KindOf(req.path);
    {
      std::lock_guard<std::mutex> lock(log_mu);
      std::ofstream log(opt.log, std::ios::app);
      log << req.method << " " << kind << " " << req.path;
      if (kind == "newOrder") {
        std::string replaces = PayloadMember(req.body, "replaces");
        if (!replaces.empty()) log << " replaces=" << replaces;
        std::string profile = PayloadMember(req.body, "profile");
        if (!profile.empty()) log << " profile=" << profile;
      }
      log << "\n";
    }
    std::vector<Rule> rules = ReadRules(opt.control);
    const Rule* ari = nullptr;
    for (const Rule& r : rules) {
      if (r.kind == "renewalInfo") ari = &r;
    }
    if (kind == "renewalInfo") {
      if (!ari) {
        Problem(res, 404, "malformed", "no renewal information here");
        return;
      }
      auto now = std::chrono::system_clock::now();
      nlohmann::json window = {
          {"suggestedWindow",
           {{"start", Rfc3339(now + std::chrono::seconds(std::atoi(ari->action.c_str())))},
            {"end", Rfc3339(now + std::chrono::seconds(ari->seconds))}}}};
      if (ari->retry_after > 0) res.set_header("Retry-After", std::to_string(ari->retry_after));
      res.status = 200;
      res.set_content(window.dump(), "application/json");
      return;
    }
    if (const Rule* rule = Match(rules, kind)) {
      if (rule->action == "429") {
        res.set_header("Retry-After", std::to_string(rule->seconds));
        Problem(res, 429, "rateLimited", "too many certificates for this set of names (injected)");
        return;
      }
      if (rule->action == "503") {
        Problem(res, 503, "serverInternal", "service unavailable (injected)");
        return;
      }
      if (rule->action == "stall") {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
        while (std::chrono::steady_clock::now() < deadline) {
          std::vector<Rule> now = ReadRules(opt.control);
          const Rule* still = Match(now, kind);
          if (!still || still->action != "stall") break;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
    }
    thread_local std::unique_ptr<httplib::SSLClient> client;
    if (!client) {
      client = std::make_unique<httplib::SSLClient>(opt.upstream_host, opt.upstream_port);
      client->set_ca_cert_path(opt.ca_bundle.c_str());
      client->enable_server_certificate_verification(true);
      client->set_keep_alive(true);
      client->set_connection_timeout(10);
      client->set_read_timeout(60);
    }
    httplib::Headers headers;
    for (const auto& [name, value] : req.headers) {
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "content-length" || lower == "connection" || lower == "accept-encoding" ||
          lower == "remote_addr" || lower == "remote_port" || lower == "local_addr" ||
          lower == "local_port") {
        continue;
      }
      headers.emplace(name, value);
    }
    std::string target = req.target.empty() ? req.path : req.target;
    httplib::Result up =
        req.method == "POST"
            ? client->Post(target, headers, req.body, req.get_header_value("Content-Type"))
            : req.method == "HEAD" ? client->Head(target, headers) : client->Get(target, headers);
    if (!up) {
      Problem(res, 502, "serverInternal",
              "upstream request failed: " + httplib::to_string(up.error()));
      client.reset();
      return;
    }
    res.status = up->status;
    for (const auto& [name, value] : up->headers) {
      std::string lower = name;
      for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower == "content-length" || lower == "transfer-encoding" || lower == "connection" ||
          lower == "content-type") {
        continue;
      }
      std::string v = value;
      if (lower == "location" || lower == "link") ReplaceAll(v, upstream_authority, own_authority);
      res.headers.emplace(name, v);
    }
    std::string body = up->body;
    ReplaceAll(body, upstream_authority, own_authority);
    if (kind == "directory" && ari && !body.empty() && body.front() == '{') {
      body.insert(1, "\"renewalInfo\":\"https://" + own_authority + "/renewal-info/\",");
    }
    if (kind == "directory" && up->status == 200) body = WithProfiles(body, rules);
    std::string type = up->get_header_value("Content-Type");
    res.set_content(body, type.empty() ? "application/octet-stream" : type);
  };
  server.Get(".*", handle);
  server.Post(".*", handle);
  server.set_keep_alive_max_count(1000);
  if (!server.bind_to_port("127.0.0.1", opt.port)) Usage("cannot bind 127.0.0.1:" + std::to_string(opt.port));
  std::cout << "READY" << std::endl;
  server.listen_after_bind();
  return 0;
}
