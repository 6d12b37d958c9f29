#include "challenges/dns_provider_powerdns.h"

#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <utility>

#include "base/fs.h"
#include "challenges/dns_wire.h"

namespace certkeeper::challenges {
namespace {

using nlohmann::json;

constexpr std::string_view kPrefix = "dns-01 powerdns: ";
constexpr size_t kMaxServerText = 300;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsLoopbackHost(std::string_view host) {
  if (host == "localhost" || host == "[::1]") return true;
  // 127.0.0.0/8 in dotted-quad form only.
  if (host.substr(0, 4) != "127.") return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return dots == 3;
}

// Percent-encodes everything outside RFC 3986 unreserved characters.
std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// A server-provided string made safe for a terminal and short.
std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (out.size() >= kMaxServerText) {
      out += "...";
      break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Fields of a server's JSON, read without throwing: a wrong type reads as
// absent (nlohmann's value() would throw on a type mismatch).
std::string StringField(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}
bool BoolField(const json& object, const char* key, bool fallback) {
  auto it = object.find(key);
  return it != object.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

// PowerDNS answers errors as {"error": "..."}; some (401, 404 of an unknown
// path) as plain text.
std::string ServerError(const RestResponse& r) {
  json doc = json::parse(r.body, nullptr, false);
  if (doc.is_object() && !StringField(doc, "error").empty()) {
    return Printable(StringField(doc, "error"));
  }
  return Printable(r.body);
}

std::string StatusHint(int status) {
  switch (status) {
    case 401:
    case 403:
      return "PowerDNS did not accept the API key: api_key_file must hold the server's "
             "api-key (pdns.conf)";
    case 404:
      return "check `server_id` (usually \"localhost\") and the zone name: the zone must "
             "exist on the server (pdnsutil list-all-zones)";
    case 422:
      return "PowerDNS refused the change: check the zone name, the record must be inside it";
    default:
      return status >= 500 ? "the server failed; check the PowerDNS log"
                           : "check api_url: it must be the base URL of the PowerDNS API";
  }
}

// A few words in the message itself: callers that show only the message
// (a route summary) still say which setting to look at.
std::string StatusCause(int status) {
  switch (status) {
    case 401:
    case 403:
      return "; the API key from api_key_file was refused";
    case 404:
      return "; no such server_id or zone on the server";
    case 422:
      return "; the change was rejected (is the name inside the zone?)";
    default:
      return "";
  }
}

ErrorCode StatusCode(int status) {
  if (status == 401 || status == 403) return ErrorCode::kPermissionDenied;
  if (status == 404 || status == 422) return ErrorCode::kFailedPrecondition;
  if (status >= 500) return ErrorCode::kUnavailable;
  return ErrorCode::kProtocol;
}

}  // namespace

Result<std::string> NormalizePowerDnsUrl(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return Status(ErrorCode::kInvalidArgument,
                  "invalid URL '" + Printable(url) + "': " + why)
        .Hint("write the API's base URL, e.g. api_url = \"http://127.0.0.1:8081\"");
  };
  for (char c : url) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return bad("spaces and control characters are not allowed");
  }
  std::string lower = Lower(url);
  bool https = lower.rfind("https://", 0) == 0;
  if (!https && lower.rfind("http://", 0) != 0) return bad("must start with http:// or https://");
  std::string_view rest = url.substr(https ? 8 : 7);
  if (rest.find_first_of("?#@") != std::string_view::npos) {
    return bad("no user, query or fragment allowed");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string path(slash == std::string_view::npos ? "" : rest.substr(slash));
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path.size() >= 7 && Lower(path.substr(path.size() - 7)) == "/api/v1") {
    path.resize(path.size() - 7);
  }
  std::string host(authority);
  std::string port;
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    host = std::string(authority.substr(0, colon));
    port = std::string(authority.substr(colon + 1));
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) == 0 ||
        std::stoi(port) > 65535) {
      return bad("the port must be a number from 1 to 65535");
    }
  }
  if (host.empty()) return bad("no host");
  host = Lower(host);
  if (!https && !IsLoopbackHost(host)) {
    return Status(ErrorCode::kInvalidArgument,
                  "'" + Printable(url) +
                      "' is plain http to another host: the API key would cross the network "
                      "unencrypted")
        .Hint("use https:// (PowerDNS behind a TLS proxy), or plain http only to "
              "127.0.0.1/localhost (e.g. through an SSH tunnel)");
  }
  return std::string(https ? "https://" : "http://") + host + (port.empty() ? "" : ":" + port) +
         path;
}

Result<std::string> LoadPowerDnsApiKey(const std::string& file,
                                       std::vector<std::string>* warnings) {
  struct stat st {};
  Result<std::string> text = fs::ReadFile(file, &st);  // one open: mode and bytes agree
  if (!text.ok() && text.status().code() == ErrorCode::kNotFound) {
    return Status(ErrorCode::kNotFound, "API key file does not exist")
        .Where(file)
        .Hint("write the server's api-key (pdns.conf) into it, mode 0600");
  }
  if (!text.ok()) return Status(text.status()).Annotate("API key file");
  std::string_view key = *text;
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!key.empty() && space(key.front())) key.remove_prefix(1);
  while (!key.empty() && space(key.back())) key.remove_suffix(1);
  if (key.empty()) {
    return Status(ErrorCode::kInvalidArgument, "API key file is empty")
        .Where(file)
        .Hint("write the server's api-key (pdns.conf) into it");
  }
  for (char c : key) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x21 || u >= 0x7f) {
      return Status(ErrorCode::kInvalidArgument,
                    "API key file must hold one key of printable characters without spaces")
          .Where(file)
          .Hint("the file holds the key alone, on one line");
    }
  }
  if ((st.st_mode & 077) != 0 && warnings != nullptr) {
    warnings->push_back("PowerDNS API key file " + file +
                        " can be read by group or others; chmod 600 it");
  }
  return std::string(key);
}

std::string TxtPresentation(std::string_view value) {
  std::string out;
  size_t in_string = 0;
  out += '"';
  for (unsigned char c : value) {
    if (in_string == 255) {  // RFC 1035 §3.3: a character-string holds 255 octets
      out += "\" \"";
      in_string = 0;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c >= 0x7f) {
      out += '\\';
      out += static_cast<char>('0' + c / 100);
      out += static_cast<char>('0' + c / 10 % 10);
      out += static_cast<char>('0' + c % 10);
    } else {
      out += static_cast<char>(c);
    }
    ++in_string;
  }
  out += '"';
  return out;
}

Result<std::string> ParseTxtPresentation(std::string_view content) {
  auto bad = [&](const std::string& why) {
    return Status(ErrorCode::kProtocol, "TXT content '" + Printable(content) + "': " + why);
  };
  std::string out;
  size_t i = 0;
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (i < content.size()) {
    if (is_space(content[i])) {
      ++i;
      continue;
    }
    bool quoted = content[i] == '"';
    if (quoted) ++i;
    while (true) {
      if (i == content.size()) {
        if (quoted) return bad("unterminated quote");
        break;
      }
      char c = content[i];
      if (quoted ? c == '"' : is_space(c)) {
        if (quoted) ++i;
        break;
      }
      if (!quoted && c == '"') return bad("quote inside a bare string");
      if (c != '\\') {
        out += c;
        ++i;
        continue;
      }
      if (i + 1 == content.size()) return bad("backslash at the end");
      if (std::isdigit(static_cast<unsigned char>(content[i + 1]))) {
        if (i + 4 > content.size()) return bad("short \\DDD escape");
        int n = 0;
        for (size_t k = 1; k <= 3; ++k) {
          char d = content[i + k];
          if (!std::isdigit(static_cast<unsigned char>(d))) return bad("short \\DDD escape");
          n = n * 10 + (d - '0');
        }
        if (n > 255) return bad("\\DDD escape above 255");
        out += static_cast<char>(n);
        i += 4;
      } else {
        out += content[i + 1];
        i += 2;
      }
    }
  }
  return out;
}

std::string PowerDnsProvider::ServerUrl() const {
  return options_.api_url + "/api/v1/servers/" + UrlEncode(options_.server_id);
}

Result<RestResponse> PowerDnsProvider::Call(std::string_view op, const std::string& method,
                                            const std::string& url, const std::string& body,
                                            int expected) {
  RestRequest request;
  request.method = method;
  request.url = url;
  request.headers = {"X-API-Key: " + options_.api_key};
  request.body = body;
  std::string what = std::string(kPrefix) + std::string(op);
  Result<RestResponse> r = http_->Send(request);
  if (!r.ok()) return Status(r.status()).Annotate(what);
  if (r->status == expected || (expected == 204 && r->status == 200)) return r;
  std::string detail = ServerError(*r);
  return Status(StatusCode(r->status), what + ": " + method + " answered HTTP " +
                                           std::to_string(r->status) +
                                           (detail.empty() ? "" : ": " + detail) +
                                           StatusCause(r->status))
      .Where(url)
      .Hint(StatusHint(r->status));
}

Result<std::vector<PowerDnsProvider::Zone>> PowerDnsProvider::ZonesNamed(std::string_view name) {
  std::string url = ServerUrl() + "/zones?zone=" + UrlEncode(name);
  CK_ASSIGN_OR_RETURN(RestResponse r, Call("finding the zone", "GET", url, "", 200));
  json doc = json::parse(r.body, nullptr, false);
  if (!doc.is_array()) {
    return Status(ErrorCode::kProtocol, std::string(kPrefix) + "the zone list is not a JSON array")
        .Where(url);
  }
  std::vector<Zone> zones;
  for (const json& z : doc) {
    if (!z.is_object()) continue;
    Result<std::string> canonical = dns::CanonicalName(StringField(z, "name"));
    if (!canonical.ok() || *canonical != name) continue;
    std::string id = StringField(z, "id");
    zones.push_back({*canonical, id.empty() ? *canonical : id});
  }
  return zones;
}

Result<PowerDnsProvider::Zone> PowerDnsProvider::ResolveZone(std::string_view fqdn) {
  if (!options_.zone.empty()) {
    if (!dns::IsSubdomain(fqdn, options_.zone)) {
      return Status(ErrorCode::kInvalidArgument,
                    std::string(kPrefix) + std::string(fqdn) + " is not inside zone " +
                        options_.zone)
          .Hint("fix `zone`, or point _acme-challenge at the zone with a CNAME");
    }
    return Zone{options_.zone, options_.zone};
  }
  if (auto it = zones_.find(fqdn); it != zones_.end()) return it->second;
  std::string candidate(fqdn);
  while (true) {
    CK_ASSIGN_OR_RETURN(std::vector<Zone> found, ZonesNamed(candidate));
    if (!found.empty()) {
      zones_.emplace(std::string(fqdn), found.front());
      return found.front();
    }
    if (candidate == ".") break;
    candidate = dns::ParentName(candidate);
  }
  return Status(ErrorCode::kFailedPrecondition,
                std::string(kPrefix) + "the server has no zone that holds " + std::string(fqdn))
      .Where(ServerUrl())
      .Hint("create the zone on the server, set `zone`, or point _acme-challenge at a zone it "
            "has with a CNAME");
}

Result<std::string> PowerDnsProvider::ZoneFor(std::string_view fqdn) {
  CK_ASSIGN_OR_RETURN(Zone zone, ResolveZone(fqdn));
  return zone.name;
}

Status PowerDnsProvider::ReadTxt(const Zone& zone, std::string_view fqdn, std::string_view op,
                                 json* records, uint32_t* ttl) {
  std::string url = ServerUrl() + "/zones/" + UrlEncode(zone.id) +
                    "?rrsets=true&rrset_name=" + UrlEncode(fqdn) + "&rrset_type=TXT";
  CK_ASSIGN_OR_RETURN(RestResponse r, Call(op, "GET", url, "", 200));
  json doc = json::parse(r.body, nullptr, false);
  if (!doc.is_object() || !doc.contains("rrsets") || !doc["rrsets"].is_array()) {
    return Status(ErrorCode::kProtocol,
                  std::string(kPrefix) + std::string(op) + ": the zone has no rrsets array")
        .Where(url);
  }
  *records = json::array();
  *ttl = options_.ttl;
  // Servers before 4.6 ignore rrset_name and return the whole zone: filter here.
  for (const json& set : doc["rrsets"]) {
    if (!set.is_object() || StringField(set, "type") != "TXT") continue;
    Result<std::string> name = dns::CanonicalName(StringField(set, "name"));
    if (!name.ok() || *name != fqdn) continue;
    auto set_ttl = set.find("ttl");
    if (set_ttl != set.end() && set_ttl->is_number_unsigned()) {
      *ttl = static_cast<uint32_t>(std::min<uint64_t>(set_ttl->get<uint64_t>(), 0x7fffffff));
    }
    auto set_records = set.find("records");
    if (set_records == set.end() || !set_records->is_array()) continue;
    for (const json& rec : *set_records) {
      if (!rec.is_object() || !rec.contains("content") || !rec["content"].is_string()) continue;
      records->push_back({{"content", rec["content"]}, {"disabled", BoolField(rec, "disabled", false)}});
    }
  }
  return Status::Ok();
}

Status PowerDnsProvider::WriteTxt(const Zone& zone, std::string_view fqdn, const json& records,
                                  uint32_t ttl, std::string_view op) {
  json set = {{"name", fqdn}, {"type", "TXT"}};
  if (records.empty()) {
    set["changetype"] = "DELETE";
  } else {
    set["changetype"] = "REPLACE";
    set["ttl"] = ttl;
    set["records"] = records;
  }
  json body = {{"rrsets", json::array({set})}};
  std::string url = ServerUrl() + "/zones/" + UrlEncode(zone.id);
  CK_RETURN_IF_ERROR(Call(op, "PATCH", url, body.dump(), 204).status());
  notes_.push_back("powerdns " + std::string(op) + ": zone " + zone.name + " at " +
                   options_.api_url + " now has " + std::to_string(records.size()) +
                   " TXT value(s) at " + std::string(fqdn));
  return Status::Ok();
}

Status PowerDnsProvider::Present(std::string_view fqdn, std::string_view value) {
  CK_ASSIGN_OR_RETURN(std::string name, dns::CanonicalName(fqdn));
  std::string op = "present " + name;
  CK_ASSIGN_OR_RETURN(Zone zone, ResolveZone(name));
  json records;
  uint32_t ttl = 0;
  CK_RETURN_IF_ERROR(ReadTxt(zone, name, op, &records, &ttl));
  bool found = false;
  for (json& rec : records) {
    Result<std::string> v = ParseTxtPresentation(rec["content"].get<std::string>());
    if (!v.ok() || *v != value) continue;
    if (!rec["disabled"].get<bool>()) {
      notes_.push_back("powerdns " + op + ": the value is already there");
      return Status::Ok();
    }
    rec["disabled"] = false;  // a disabled copy is enabled, not duplicated
    found = true;
  }
  if (!found) records.push_back({{"content", TxtPresentation(value)}, {"disabled", false}});
  return WriteTxt(zone, name, records, ttl, op);
}

Status PowerDnsProvider::CleanUp(std::string_view fqdn, std::string_view value) {
  CK_ASSIGN_OR_RETURN(std::string name, dns::CanonicalName(fqdn));
  std::string op = "cleanup " + name;
  CK_ASSIGN_OR_RETURN(Zone zone, ResolveZone(name));
  json records;
  uint32_t ttl = 0;
  CK_RETURN_IF_ERROR(ReadTxt(zone, name, op, &records, &ttl));
  json keep = json::array();
  for (const json& rec : records) {
    Result<std::string> v = ParseTxtPresentation(rec["content"].get<std::string>());
    if (!v.ok() || *v != value) keep.push_back(rec);
  }
  if (keep.size() == records.size()) return Status::Ok();  // not there: nothing to do
  return WriteTxt(zone, name, keep, ttl, op);
}

Status PowerDnsProvider::Check() {
  CK_ASSIGN_OR_RETURN(RestResponse r, Call("check", "GET", ServerUrl(), "", 200));
  json doc = json::parse(r.body, nullptr, false);
  if (!doc.is_object() || StringField(doc, "daemon_type") != "authoritative") {
    return Status(ErrorCode::kProtocol, std::string(kPrefix) +
                                            "check: the answer is not a PowerDNS "
                                            "Authoritative Server's")
        .Where(ServerUrl())
        .Hint("api_url must point at pdns_server's webserver (not the Recursor's)");
  }
  if (options_.zone.empty()) return Status::Ok();
  CK_ASSIGN_OR_RETURN(std::vector<Zone> zones, ZonesNamed(options_.zone));
  if (zones.empty()) {
    return Status(ErrorCode::kFailedPrecondition,
                  std::string(kPrefix) + "check: the server has no zone " + options_.zone)
        .Where(ServerUrl())
        .Hint("check `zone` (pdnsutil list-all-zones shows what the server has)");
  }
  return Status::Ok();
}

std::vector<std::string> PowerDnsProvider::TakeNotes() { return std::exchange(notes_, {}); }

}  // namespace certkeeper::challenges
