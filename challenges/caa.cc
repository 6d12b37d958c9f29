// EvaluateCaa: RFC 8659 §4 issue/issuewild with the RFC 8657 parameters, as a
// pure function of the record set.
#include "challenges/caa.h"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <utility>

namespace certkeeper::challenges {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsWsp(char c) { return c == ' ' || c == '\t'; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

// RFC 8659 §4.2: label = (ALPHA / DIGIT) *( *("-") (ALPHA / DIGIT)), the
// grammar of parameter tags and of validationmethods entries (RFC 8657 §4).
bool IsLabel(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlnum(c) || c == '-'; });
}

// issuer-domain-name = label *("." label)
bool IsIssuerDomainName(std::string_view s) {
  while (true) {
    size_t dot = s.find('.');
    if (!IsLabel(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

struct IssueValue {
  std::string issuer;  // lower case; empty: names no CA
  std::vector<std::pair<std::string, std::string>> parameters;  // tag lower-cased
};

// issue-value = *WSP [issuer-domain-name *WSP] [";" *WSP [parameters *WSP]]
// parameters = (parameter *WSP ";" *WSP parameters) / parameter
// parameter = tag *WSP "=" *WSP value;  value = *(%x21-3A / %x3C-7E)
std::optional<IssueValue> ParseIssueValue(std::string_view v) {
  size_t pos = 0;
  auto skip_wsp = [&] {
    while (pos < v.size() && IsWsp(v[pos])) ++pos;
  };
  auto run = [&](auto accept) {
    size_t start = pos;
    while (pos < v.size() && accept(v[pos])) ++pos;
    return v.substr(start, pos - start);
  };
  IssueValue out;
  skip_wsp();
  std::string_view issuer = run([](char c) { return !IsWsp(c) && c != ';'; });
  if (!issuer.empty() && !IsIssuerDomainName(issuer)) return std::nullopt;
  out.issuer = Lower(issuer);
  skip_wsp();
  if (pos == v.size()) return out;
  if (v[pos] != ';') return std::nullopt;
  ++pos;
  skip_wsp();
  if (pos == v.size()) return out;
  while (true) {
    std::string_view tag = run([](char c) { return IsAlnum(c) || c == '-'; });
    if (!IsLabel(tag)) return std::nullopt;
    skip_wsp();
    if (pos == v.size() || v[pos] != '=') return std::nullopt;
    ++pos;
    skip_wsp();
    std::string_view value = run([](char c) { return c >= 0x21 && c <= 0x7E && c != ';'; });
    out.parameters.emplace_back(Lower(tag), std::string(value));
    skip_wsp();
    if (pos == v.size()) return out;
    if (v[pos] != ';') return std::nullopt;
    ++pos;
    skip_wsp();
  }
}

// What one applicable record says about this CA.
struct RecordOutcome {
  bool authorizes = false;
  std::optional<std::vector<std::string>> methods;  // nullopt: any method
  std::string refusal;  // why a record naming this CA does not authorize it
};

RecordOutcome Assess(const IssueValue& value, std::string_view account_url) {
  RecordOutcome out;
  auto void_record = [&](std::string why) {
    out.refusal = "names " + value.issuer + " in a record with " + why +
                  ", which authorizes nobody";
  };
  std::optional<std::string> account_uri;
  for (const auto& [tag, param] : value.parameters) {
    if (tag == "accounturi") {
      if (account_uri) {
        void_record("a repeated accounturi");
        return out;
      }
      account_uri = param;
    } else if (tag == "validationmethods") {
      if (out.methods) {
        void_record("a repeated validationmethods");
        return out;
      }
      // RFC 8657 §4: value = [*(label ",") label]
      std::vector<std::string> methods;
      std::string_view rest = param;
      while (!rest.empty()) {
        size_t comma = rest.find(',');
        std::string_view method = rest.substr(0, comma);
        if (!IsLabel(method)) {
          void_record("a malformed validationmethods");
          return out;
        }
        std::string m = Lower(method);
        if (std::find(methods.begin(), methods.end(), m) == methods.end()) {
          methods.push_back(std::move(m));
        }
        if (comma == std::string_view::npos) break;
        rest.remove_prefix(comma + 1);
        if (rest.empty()) {
          void_record("a malformed validationmethods");
          return out;
        }
      }
      out.methods = std::move(methods);
    }
    // Other parameters are CA-specific and not ours to interpret (§4.2).
  }
  // RFC 8657 §3: the account URI must equal the ACME account's URL; a CA
  // account that does not exist yet has none.
  if (account_uri && (account_url.empty() || *account_uri != account_url)) {
    out.refusal = "allows " + value.issuer + " only for account " +
                  PrintableCaaValue(*account_uri) +
                  (account_url.empty() ? " (there is no account at this CA yet)" : "");
    return out;
  }
  out.authorizes = true;
  return out;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string NormalizedIdentity(std::string_view identity) {
  if (!identity.empty() && identity.back() == '.') identity.remove_suffix(1);
  return Lower(identity);
}

bool IsKnownTag(std::string_view lower_tag) {
  return lower_tag == "issue" || lower_tag == "issuewild" || lower_tag == "iodef";
}

// What the applicable records (tag "issue" or "issuewild") say about one CA.
struct Tally {
  bool applicable = false;  // at least one record has the tag
  bool authorized = false;
  bool any_method = false;  // an authorizing record has no validationmethods
  std::vector<std::string> methods;   // union of the authorizing records' methods
  std::vector<std::string> named;     // issuers the records name
  std::vector<std::string> refusals;  // records naming this CA that do not authorize it
  std::string authorized_issuer;
};

void AddOnce(std::vector<std::string>& items, std::string item) {
  if (std::find(items.begin(), items.end(), item) == items.end()) items.push_back(std::move(item));
}

Tally TallyRecords(const CaaSet& set, const std::string& tag,
                   const std::vector<std::string>& identities, std::string_view account_url) {
  Tally t;
  for (const CaaRecord& r : set.records) {
    if (Lower(r.tag) != tag) continue;
    t.applicable = true;
    // §4.2: a value that does not parse authorizes nobody.
    std::optional<IssueValue> value = ParseIssueValue(r.value);
    if (!value || value->issuer.empty()) continue;
    // The grammar leaves only letters, digits, '-' and '.': safe to show.
    AddOnce(t.named, value->issuer.size() <= 80 ? value->issuer
                                                : value->issuer.substr(0, 80) + "...");
    if (std::find(identities.begin(), identities.end(), value->issuer) == identities.end()) {
      continue;
    }
    RecordOutcome outcome = Assess(*value, account_url);
    if (!outcome.authorizes) {
      t.refusals.push_back(outcome.refusal);
      continue;
    }
    t.authorized = true;
    t.authorized_issuer = value->issuer;
    if (!outcome.methods) {
      t.any_method = true;
    } else {
      for (const std::string& m : *outcome.methods) AddOnce(t.methods, m);
    }
  }
  return t;
}

}  // namespace

std::string PrintableCaaValue(std::string_view value, size_t max_length) {
  std::string out = "\"";
  size_t shown = 0;
  for (char c : value) {
    if (shown == max_length) {
      out += "...";
      break;
    }
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F || c == '"' || c == '\\') {
      char esc[8];
      std::snprintf(esc, sizeof(esc), "\\x%02x", static_cast<unsigned>(u));
      out += esc;
    } else {
      out.push_back(c);
    }
    ++shown;
  }
  return out + "\"";
}

CaaVerdict EvaluateCaa(const CaaSet& set, bool wildcard,
                       const std::vector<std::string>& ca_identities,
                       std::string_view account_url) {
  CaaVerdict verdict;
  if (set.records.empty()) {
    verdict.reason = "no CAA record for the name or its parents: any CA may issue";
    return verdict;
  }
  const std::string at = "CAA at " + set.owner;
  // RFC 8659 §4.1: an unknown property marked critical forbids issuance.
  for (const CaaRecord& r : set.records) {
    if ((r.flags & kCaaCritical) != 0 && !IsKnownTag(Lower(r.tag))) {
      verdict.allowed = false;
      verdict.reason = at + " has a critical record with the unknown tag " +
                       PrintableCaaValue(r.tag) + ": no CA may issue (RFC 8659 §4.1)";
      return verdict;
    }
  }
  // RFC 8659 §4.3: issuewild, when present, replaces issue for a wildcard.
  std::string tag = "issue";
  if (wildcard && std::any_of(set.records.begin(), set.records.end(), [](const CaaRecord& r) {
        return Lower(r.tag) == "issuewild";
      })) {
    tag = "issuewild";
  }
  std::vector<std::string> identities;
  for (const std::string& id : ca_identities) identities.push_back(NormalizedIdentity(id));
  const Tally t = TallyRecords(set, tag, identities, account_url);
  if (!t.applicable) {
    verdict.reason = at + " has no " + tag + " record: any CA may issue";
    return verdict;
  }
  if (!t.authorized) {
    verdict.allowed = false;
    if (!t.refusals.empty()) {
      verdict.reason = at + " " + Join(t.refusals);
    } else if (t.named.empty()) {
      verdict.reason = at + " forbids every CA (" + tag + " names no issuer)";
    } else {
      verdict.reason = at + " allows only " + Join(t.named) + " (" + tag + ")";
    }
    return verdict;
  }
  if (!t.any_method && t.methods.empty()) {
    verdict.allowed = false;
    verdict.reason = at + " allows " + t.authorized_issuer + " with no validation method";
    return verdict;
  }
  verdict.reason = at + " allows " + t.authorized_issuer;
  if (!t.any_method) {
    verdict.challenge_types = t.methods;
    verdict.reason += " with " + Join(t.methods) + " only";
  }
  return verdict;
}

}  // namespace certkeeper::challenges
