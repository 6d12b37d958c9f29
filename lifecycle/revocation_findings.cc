// What `check` says of the revocation answers (lifecycle/revocation.h).
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "lifecycle/revocation.h"

namespace certkeeper::lifecycle {

namespace {

std::string Label(const RevocationView& a) { return a.method == "ocsp" ? "OCSP" : "CRL"; }

// "OCSP http://r.example, next update 2026-12-02T10:00:00Z"
std::string Source(const RevocationView& a) {
  std::string out = Label(a) + " " + a.url;
  if (a.next_update) out += ", next update " + FormatRfc3339(*a.next_update);
  return out;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

void AddOne(const std::vector<const RevocationView*>& answers,
            std::vector<CheckFinding>& findings) {
  const RevocationView& first = *answers.front();
  const std::string version = "version " + std::to_string(first.version);
  std::vector<std::string> good, unknown, errors;
  for (const RevocationView* a : answers) {
    if (a->status == "revoked") {
      std::string when = a->revoked_at ? " at " + FormatRfc3339(*a->revoked_at) : "";
      findings.push_back({first.certificate, "error",
                          "revocation: " + version + " was revoked by the CA" + when +
                              " (reason " + (a->reason.empty() ? "unspecified" : a->reason) +
                              ", " + Label(*a) + " " + a->url +
                              "); the next renewal replaces it"});
      return;
    }
    if (a->status == "good") good.push_back(Source(*a));
    if (a->status == "unknown") unknown.push_back(Label(*a) + " " + a->url + " answered unknown");
    if (a->status == "error") errors.push_back(Label(*a) + " " + a->url + ": " + a->error);
  }
  if (!good.empty()) {
    std::string message = "revocation: good (" + Join(good) + ")";
    if (!errors.empty() || !unknown.empty()) {
      std::vector<std::string> rest = unknown;
      rest.insert(rest.end(), errors.begin(), errors.end());
      message += "; also " + Join(rest);
    }
    findings.push_back({first.certificate, "info", std::move(message)});
    return;
  }
  std::vector<std::string> all = unknown;
  all.insert(all.end(), errors.begin(), errors.end());
  findings.push_back({first.certificate, "warning",
                      "revocation: the status of " + version +
                          " could not be learned (" + Join(all) + ")"});
}

}  // namespace

void AddRevocationFindings(const std::vector<RevocationView>& answers,
                           std::vector<CheckFinding>& findings) {
  // One finding per certificate version, in the order the answers came.
  std::vector<std::pair<std::string, int>> order;
  std::map<std::pair<std::string, int>, std::vector<const RevocationView*>> groups;
  for (const RevocationView& a : answers) {
    auto key = std::make_pair(a.certificate, a.version);
    if (groups.find(key) == groups.end()) order.push_back(key);
    groups[key].push_back(&a);
  }
  for (const auto& key : order) AddOne(groups[key], findings);
}

}  // namespace certkeeper::lifecycle
