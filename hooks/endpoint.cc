#include "hooks/endpoint.h"

#include <charconv>

namespace certkeeper::hooks {

std::string Endpoint::ToString() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<Endpoint> ParseEndpoint(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return Status(ErrorCode::kInvalidArgument,
                  "\"" + std::string(text) + "\" is not host:port: " + std::string(why))
        .Hint("write it as \"127.0.0.1:443\", \"www.example.com:8443\" or \"[::1]:443\"");
  };
  Endpoint out;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    out.host = std::string(text.substr(1, close - 1));
    if (close + 1 >= text.size() || text[close + 1] != ':') return bad("missing :port");
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("missing :port");
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos) return bad("put IPv6 addresses in [ ]");
    port = text.substr(colon + 1);
  }
  if (out.host.empty()) return bad("empty host");
  for (char c : out.host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':' || c == '_';
    if (!ok) return bad("the host contains an invalid character");
  }
  int value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 ||
      value > 65535) {
    return bad("the port must be a number from 1 to 65535");
  }
  out.port = value;
  return out;
}

std::string SniNameFor(std::string_view domain) {
  if (domain.substr(0, 2) == "*.") {
    return "certkeeper-verify." + std::string(domain.substr(2));
  }
  return std::string(domain);
}

}  // namespace certkeeper::hooks
