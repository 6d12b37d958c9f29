#include "lifecycle/revocation_sources.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <optional>

#include "base/dirfd.h"
#include "base/encoding.h"
#include "base/log.h"
#include "lifecycle/crl.h"
#include "lifecycle/ocsp.h"

namespace certkeeper::lifecycle {

namespace {

constexpr const char* kCacheDir = "crl-cache";

Status NotOk(const acme::HttpResponse& response, const std::string& url, std::string_view what) {
  return Status(ErrorCode::kUnavailable, std::string(what) + " answered HTTP " +
                                             std::to_string(response.status))
      .Where(url);
}

// The transport's errors speak of "the ACME server"; say what was asked.
Status Unreachable(const Status& s, const std::string& url, std::string_view what) {
  std::string detail = s.message();
  constexpr std::string_view kAcme = "the ACME server";
  if (size_t at = detail.find(kAcme); at != std::string::npos) {
    detail.replace(at, kAcme.size(), "the server");
  }
  return Status(s.code() == ErrorCode::kProtocol ? ErrorCode::kProtocol : ErrorCode::kUnavailable,
                "cannot fetch from the " + std::string(what) + ": " + detail)
      .Where(url);
}

}  // namespace

Result<OcspAnswer> AskOcsp(acme::HttpClient& http, const std::string& url, const CertPair& pair,
                           TimePoint now, Duration max_age_without_nonce) {
  CK_ASSIGN_OR_RETURN(std::string request_der, BuildOcspRequest(pair));
  acme::HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.headers.Add("Content-Type", "application/ocsp-request");
  request.headers.Add("Accept", "application/ocsp-response");
  request.body = request_der;
  request.max_response_bytes = kMaxOcspResponseBytes;
  Result<acme::HttpResponse> response = http.Send(request);
  if (!response.ok()) return Unreachable(response.status(), url, "OCSP responder");
  if (response->status != 200) return NotOk(*response, url, "the OCSP responder");
  Result<RevocationStatus> status =
      VerifyOcspResponse(response->body, request_der, pair, now, max_age_without_nonce);
  if (!status.ok()) return Status(status.status()).Where(url);
  return OcspAnswer{std::move(*status), std::move(response->body)};
}

std::string CrlCache::CacheName(std::string_view url) {
  return std::string(kCacheDir) + "/" + HexEncode(Sha256(url)) + ".der";
}

std::optional<RevocationStatus> CrlCache::FromCache(const std::string& url, const CertPair& pair,
                                                    TimePoint now) {
  auto dir = fs::OpenDirectory(state_dir_ + "/" + kCacheDir);
  if (!dir.ok()) return std::nullopt;
  const std::string name = CacheName(url).substr(std::string(kCacheDir).size() + 1);
  struct stat st {};
  auto der = fs::ReadFileAt(*dir, name, &st);
  if (!der.ok()) return std::nullopt;
  auto status = CheckCrl(*der, pair, now);
  if (!status.ok()) return std::nullopt;
  const TimePoint written = std::chrono::system_clock::from_time_t(st.st_mtime);
  const bool fresh = status->next_update ? now < *status->next_update : now < written + max_cache_;
  if (!fresh) return std::nullopt;
  return *status;
}

void CrlCache::Store(const std::string& url, std::string_view der) {
  auto root = fs::OpenDirectory(state_dir_);
  Status s = root.status();
  if (root.ok()) {
    auto dir = fs::MakeDirAt(*root, kCacheDir, 0700);
    s = dir.status();
    if (dir.ok()) {
      fs::WriteOptions options;
      options.mode = 0644;
      s = fs::WriteFileAt(*dir, CacheName(url).substr(std::string(kCacheDir).size() + 1), der,
                          options);
    }
  }
  if (!s.ok()) log::Warn("could not cache the CRL", {{"url", url}, {"error", s.ToString()}});
}

Result<RevocationStatus> CrlCache::Check(const std::string& url, const CertPair& pair,
                                         TimePoint now) {
  if (auto cached = FromCache(url, pair, now)) return *cached;
  acme::HttpRequest request;
  request.method = "GET";
  request.url = url;
  request.max_response_bytes = kMaxCrlBytes;
  Result<acme::HttpResponse> response = http_.Send(request);
  if (!response.ok()) return Unreachable(response.status(), url, "CRL distribution point");
  if (response->status != 200) return NotOk(*response, url, "the CRL distribution point");
  Result<std::string> der = CrlDer(response->body);
  if (!der.ok()) return Status(der.status()).Where(url);
  Result<RevocationStatus> status = CheckCrl(*der, pair, now);
  if (!status.ok()) return Status(status.status()).Where(url);
  Store(url, *der);
  return status;
}

Status WriteStapleFile(const std::string& version_dir, std::string_view der) {
  CK_ASSIGN_OR_RETURN(fs::Dir dir, fs::OpenDirectory(version_dir));
  fs::WriteOptions options;
  options.mode = 0644;
  return fs::WriteFileAt(dir, kStapleFileName, der, options);
}

bool HasStapleFile(const std::string& version_dir) {
  auto dir = fs::OpenDirectory(version_dir);
  if (!dir.ok()) return false;
  struct stat st {};
  return fstatat(dir->fd(), kStapleFileName, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISREG(st.st_mode);
}

}  // namespace certkeeper::lifecycle
