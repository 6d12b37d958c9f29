#include "lifecycle/revocation.h"

#include <algorithm>
#include <functional>
#include <map>
#include <utility>

#include "acme/curl_http_client.h"
#include "base/log.h"
#include "lifecycle/revocation_sources.h"
#include "lifecycle/revocation_status.h"

namespace certkeeper::lifecycle {

struct RevocationChecker::Version {
  explicit Version(const store::Version& live) : record(live) {}
  const store::Version& record;  // the live version, owned by the caller's map
  CertPair pair;
  std::vector<std::string> ocsp_urls;
  std::vector<std::string> crl_urls;
  std::string dir;  // archive/<name>/<n>, where live/<name> points
};

namespace {

constexpr const char* kOcsp = "ocsp";
constexpr const char* kCrl = "crl";

std::string MethodLabel(const std::string& method) { return method == kOcsp ? "OCSP" : "CRL"; }

void Fill(store::RevocationRecord& r, const RevocationStatus& s) {
  r.status = s.status;
  r.this_update = s.this_update;
  r.next_update = s.next_update;
  r.revoked_at = s.revoked_at;
  r.reason = s.reason;
  r.error.clear();
}

}  // namespace

Result<acme::HttpClient*> RevocationChecker::Http() {
  if (http_ != nullptr) return http_;
  if (!owned_http_) {
    acme::CurlOptions options;
    const auto timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(ctx_.config->revocation.timeout);
    options.connect_timeout = timeout;
    options.total_timeout = timeout;
    CK_ASSIGN_OR_RETURN(auto client, acme::CurlHttpClient::Create(options));
    owned_http_ = std::move(client);
  }
  return owned_http_.get();
}

Result<std::vector<RevocationView>> RevocationChecker::Refresh(bool force) {
  if (!ctx_.config->revocation.enabled) return std::vector<RevocationView>{};
  CK_ASSIGN_OR_RETURN(auto current, ctx_.inventory->AllCurrentVersions());
  return Refresh(force, current);
}

Result<std::vector<RevocationView>> RevocationChecker::Refresh(
    bool force, const std::map<std::string, store::CurrentVersions>& current) {
  std::vector<RevocationView> out;
  if (!ctx_.config->revocation.enabled) return out;
  CK_RETURN_IF_ERROR(ReadStored());
  for (const auto& [name, versions] : current) {
    if (versions.live) CK_RETURN_IF_ERROR(RefreshLive(name, *versions.live, force, out));
  }
  return out;
}

Result<std::vector<RevocationView>> RevocationChecker::RefreshUnsettled(
    const std::map<std::string, store::CurrentVersions>& current) {
  std::vector<RevocationView> out;
  if (!ctx_.config->revocation.enabled) return out;
  // Which live versions the stored answers settle as good needs only their
  // states; the whole answers are read when some version is not settled.
  CK_ASSIGN_OR_RETURN(std::vector<store::RevocationState> states,
                      ctx_.inventory->ListRevocationStates());
  const TimePoint now = ctx_.clock->Now();
  const Duration max_cache = ctx_.config->revocation.max_cache;
  // Fresh and good, as FreshRecord decides for a stored answer.
  auto fresh_good = [&](const store::RevocationState& r) {
    const TimePoint until = r.next_update ? *r.next_update : r.checked_at + max_cache;
    return r.status == "good" && now < until;
  };
  // The answers of one (certificate, version) are adjacent (ordered by it).
  std::vector<const store::Version*> settled;
  settled.reserve(current.size());
  for (size_t i = 0; i < states.size();) {
    size_t end = i + 1;
    while (end < states.size() && states[end].version == states[i].version &&
           states[end].certificate == states[i].certificate) {
      ++end;
    }
    auto found = current.find(states[i].certificate);
    if (found != current.end() && found->second.live &&
        found->second.live->n == states[i].version) {
      // FreshWithoutFiles with every answer good: a fresh CRL answer, and
      // an OCSP one only when no staple file needs a look.
      bool crl = false, ocsp_ok = true;
      for (size_t k = i; k < end; ++k) {
        if (states[k].method == kCrl) {
          crl = fresh_good(states[k]);
        } else {
          ocsp_ok = !ctx_.config->revocation.staple_file && fresh_good(states[k]);
        }
      }
      if (crl && ocsp_ok) settled.push_back(&*found->second.live);
    }
    i = end;
  }
  if (settled.size() == current.size()) return out;  // (each has a live version)
  const std::less<const store::Version*> before;  // (a total order of the pointers)
  std::sort(settled.begin(), settled.end(), before);
  bool read = false;
  for (const auto& [name, versions] : current) {
    if (!versions.live) continue;
    if (std::binary_search(settled.begin(), settled.end(), &*versions.live, before)) continue;
    if (!read) CK_RETURN_IF_ERROR(ReadStored());
    read = true;
    CK_RETURN_IF_ERROR(RefreshLive(name, *versions.live, false, out));
  }
  return out;
}

Status RevocationChecker::ReadStored() {
  CK_ASSIGN_OR_RETURN(stored_, ctx_.inventory->ListRevocations());
  stored_index_.clear();
  for (const store::RevocationRecord& r : stored_) {
    stored_index_[{r.certificate, r.version, r.method}] = &r;
  }
  return Status::Ok();
}

Status RevocationChecker::RefreshLive(const std::string& name, const store::Version& live,
                                      bool force, std::vector<RevocationView>& out) {
  Version v(live);
  v.dir = ctx_.layout->VersionDir(name, v.record.n);
  // What the stored answers settle needs neither the files nor a request:
  // a timer run over thousands of certificates reads none of them.
  if (auto fresh = FreshWithoutFiles(v, force)) {
    bool revoked = false;
    for (const store::RevocationRecord* r : *fresh) {
      if (r->status == "revoked" && !revoked) {
        CK_RETURN_IF_ERROR(MarkRevoked(v, *r));
        revoked = true;
      }
      out.push_back(ToView(*r));
    }
    return Status::Ok();
  }
  auto files = ctx_.layout->ReadVersion(name, v.record.n);
  auto pair = files.ok() ? LoadCertPair(files->cert_pem, files->chain_pem)
                         : Result<CertPair>(files.status());
  if (!pair.ok()) {
    // `check` reports unreadable files itself; nothing can be asked.
    log::Warn("cannot check revocation", {{"certificate", name},
                                          {"error", pair.status().ToString()}});
    return Status::Ok();
  }
  v.pair = std::move(*pair);
  v.ocsp_urls = OcspUrls(v.pair.leaf.get());
  v.crl_urls = CrlUrls(v.pair.leaf.get());
  if (v.ocsp_urls.empty() && v.crl_urls.empty()) {
    log::Debug("no OCSP responder or CRL distribution point to ask", {{"certificate", name}});
    return Status::Ok();
  }
  return CheckVersion(v, force, out);
}

Status RevocationChecker::CheckVersion(const Version& v, bool force,
                                       std::vector<RevocationView>& out) {
  bool revoked = false;
  for (const char* method : {kOcsp, kCrl}) {
    const auto& urls = method == std::string(kOcsp) ? v.ocsp_urls : v.crl_urls;
    if (urls.empty()) continue;
    if (std::optional<store::RevocationRecord> fresh = Fresh(v, method, force)) {
      // A stored "revoked" for a version still live: a run stopped between
      // recording the answer and marking the version. Mark it now.
      if (fresh->status == "revoked" && !revoked) {
        CK_RETURN_IF_ERROR(MarkRevoked(v, *fresh));
        revoked = true;
      }
      out.push_back(ToView(*fresh));
      continue;
    }
    store::RevocationRecord record = method == std::string(kOcsp) ? OcspRecord(v) : CrlRecord(v);
    CK_RETURN_IF_ERROR(ctx_.inventory->PutRevocation(record).Annotate(
        "record the revocation answer of " + v.record.certificate));
    if (record.status == "error") {
      log::Warn("revocation check failed", {{"certificate", v.record.certificate},
                                            {"method", method},
                                            {"error", record.error}});
    }
    if (record.status == "revoked" && !revoked) {
      CK_RETURN_IF_ERROR(MarkRevoked(v, record));
      revoked = true;
    }
    out.push_back(ToView(record));
  }
  return Status::Ok();
}

// A stored answer (not an error) for this very version, before its
// nextUpdate (or max_cache after it was learned when it names none). An OCSP
// answer is asked again when the staple file it should have written is gone.
std::optional<store::RevocationRecord> RevocationChecker::Fresh(const Version& v,
                                                                const std::string& method,
                                                                bool force) const {
  const store::RevocationRecord* r = FreshRecord(v, method, force);
  return r ? std::optional<store::RevocationRecord>(*r) : std::nullopt;
}

// Fresh without a copy: the stored record itself, or null.
const store::RevocationRecord* RevocationChecker::FreshRecord(const Version& v,
                                                              std::string_view method,
                                                              bool force) const {
  if (force) return nullptr;
  auto found = stored_index_.find({v.record.certificate, v.record.n, method});
  if (found == stored_index_.end()) return nullptr;
  const store::RevocationRecord& r = *found->second;
  if (r.status == "error") return nullptr;
  const TimePoint until =
      r.next_update ? *r.next_update : r.checked_at + ctx_.config->revocation.max_cache;
  if (ctx_.clock->Now() >= until) return nullptr;
  if (method == kOcsp && r.status == "good" && ctx_.config->revocation.staple_file &&
      !HasStapleFile(v.dir)) {
    return nullptr;
  }
  return &r;
}

// The stored answers of every method the live version names, when all of them
// are fresh (Fresh): without its files. Which methods it names is known from
// the answers themselves: CheckVersion stores one for each method the
// certificate names, OCSP before CRL, so a stored CRL answer means the OCSP
// one (if the certificate names a responder) was stored too. An OCSP answer
// alone may be all there is or the first of two: the files decide.
std::optional<std::vector<const store::RevocationRecord*>> RevocationChecker::FreshWithoutFiles(
    const Version& v, bool force) const {
  if (force) return std::nullopt;
  const store::RevocationRecord* crl = FreshRecord(v, kCrl, force);
  if (!crl) return std::nullopt;
  std::vector<const store::RevocationRecord*> fresh;
  if (stored_index_.count({v.record.certificate, v.record.n, kOcsp})) {
    const store::RevocationRecord* ocsp = FreshRecord(v, kOcsp, force);
    if (!ocsp) return std::nullopt;
    fresh.push_back(ocsp);
  }
  fresh.push_back(crl);
  return fresh;
}

store::RevocationRecord RevocationChecker::OcspRecord(const Version& v) {
  store::RevocationRecord r;
  r.certificate = v.record.certificate;
  r.version = v.record.n;
  r.method = kOcsp;
  r.checked_at = ctx_.clock->Now();
  r.url = v.ocsp_urls.front();
  r.status = "error";
  Result<acme::HttpClient*> http = Http();
  if (Status s = http.ok() ? NeedIssuer(v.pair) : http.status(); !s.ok()) {
    r.error = s.ToString();
    return r;
  }
  // Each responder the certificate names, in order, until one answers.
  for (const std::string& url : v.ocsp_urls) {
    Result<OcspAnswer> answer = AskOcsp(**http, url, v.pair, r.checked_at,
                                        ctx_.config->revocation.max_cache);
    if (!answer.ok()) {
      if (!r.error.empty()) r.error += "; ";
      r.error += answer.status().ToString();
      continue;
    }
    r.url = url;
    Fill(r, answer->status);
    // A revoked answer is stapled too: it tells clients the truth until the
    // replacement is live.
    if (ctx_.config->revocation.staple_file && r.status != "unknown") {
      Status s = WriteStapleFile(v.dir, answer->der);
      if (!s.ok()) {
        log::Warn("could not write the OCSP staple file",
                  {{"certificate", v.record.certificate}, {"error", s.ToString()}});
      }
    }
    return r;
  }
  return r;
}

store::RevocationRecord RevocationChecker::CrlRecord(const Version& v) {
  store::RevocationRecord r;
  r.certificate = v.record.certificate;
  r.version = v.record.n;
  r.method = kCrl;
  r.checked_at = ctx_.clock->Now();
  r.url = v.crl_urls.front();
  r.status = "error";
  Result<acme::HttpClient*> http = Http();
  if (Status s = http.ok() ? NeedIssuer(v.pair) : http.status(); !s.ok()) {
    r.error = s.ToString();
    return r;
  }
  CrlCache cache(ctx_.layout->root(), **http, ctx_.config->revocation.max_cache);
  for (const std::string& url : v.crl_urls) {
    Result<RevocationStatus> status = cache.Check(url, v.pair, r.checked_at);
    if (!status.ok()) {
      if (!r.error.empty()) r.error += "; ";
      r.error += status.status().ToString();
      continue;
    }
    r.url = url;
    Fill(r, *status);
    return r;
  }
  return r;
}

Status RevocationChecker::MarkRevoked(const Version& v, const store::RevocationRecord& answer) {
  const std::string& name = v.record.certificate;
  const TimePoint at = answer.revoked_at.value_or(answer.checked_at);
  CK_RETURN_IF_ERROR(ctx_.inventory->RevokeVersion(name, v.record.n, at, answer.reason)
                         .Annotate("mark " + name + " revoked"));
  ctx_.Event(name, "revoked",
             "version " + std::to_string(v.record.n) + " (serial " + v.record.serial +
                 ") was revoked by the CA at " + FormatRfc3339(at) + ", reason " +
                 answer.reason + "; learned by " + MethodLabel(answer.method) + " from " +
                 answer.url + "; the next renewal replaces it");
  log::Warn("certificate revoked by the CA", {{"certificate", name},
                                              {"serial", v.record.serial},
                                              {"reason", answer.reason},
                                              {"method", answer.method}});
  return Status::Ok();
}

RevocationView ToView(const store::RevocationRecord& record) {
  RevocationView v;
  v.certificate = record.certificate;
  v.version = record.version;
  v.method = record.method;
  v.status = record.status;
  v.url = record.url;
  v.checked_at = record.checked_at;
  v.this_update = record.this_update;
  v.next_update = record.next_update;
  v.revoked_at = record.revoked_at;
  v.reason = record.reason;
  v.error = record.error;
  return v;
}

}  // namespace certkeeper::lifecycle
