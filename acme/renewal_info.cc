// ACME Renewal Information (RFC 9773).
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <utility>

#include "acme/client.h"
#include "acme/internal/json_fields.h"
#include "acme/problem.h"
#include "base/encoding.h"

namespace certkeeper::acme {

namespace {

using nlohmann::json;
constexpr std::string_view kRenewalInfoWhat = "renewalInfo";

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};

// The content octets of the serial's DER INTEGER encoding (RFC 9773 §4.1):
// the TLV without tag and length, so a leading 0x00 stays when the high bit
// of the first byte is set.
Result<std::string> SerialContentOctets(const ASN1_INTEGER* serial) {
  unsigned char* der = nullptr;
  int n = i2d_ASN1_INTEGER(serial, &der);
  if (n < 3 || der == nullptr) {
    OPENSSL_free(der);
    return Status(ErrorCode::kInvalidArgument, "cannot encode the certificate serial");
  }
  std::string encoded(reinterpret_cast<char*>(der), static_cast<size_t>(n));
  OPENSSL_free(der);
  size_t header = 2;
  auto length_byte = static_cast<unsigned char>(encoded[1]);
  if (length_byte & 0x80) header += length_byte & 0x7f;
  if (header >= encoded.size()) {
    return Status(ErrorCode::kInvalidArgument, "malformed certificate serial");
  }
  return encoded.substr(header);
}

}  // namespace

Result<std::string> AriCertificateId(std::string_view cert_pem) {
  CK_ASSIGN_OR_RETURN(CertInfo info, ParseCertificatePem(cert_pem));
  const auto* p = reinterpret_cast<const unsigned char*>(info.der.data());
  std::unique_ptr<X509, X509Free> cert(
      d2i_X509(nullptr, &p, static_cast<long>(info.der.size())));
  if (!cert) return Status(ErrorCode::kInvalidArgument, "cannot parse the certificate");
  const ASN1_OCTET_STRING* aki = X509_get0_authority_key_id(cert.get());
  if (aki == nullptr || ASN1_STRING_length(aki) <= 0) {
    return Status(ErrorCode::kInvalidArgument,
                  "the certificate has no authority key identifier; renewal "
                  "information (RFC 9773) needs one");
  }
  std::string key_id(reinterpret_cast<const char*>(ASN1_STRING_get0_data(aki)),
                     static_cast<size_t>(ASN1_STRING_length(aki)));
  CK_ASSIGN_OR_RETURN(std::string serial,
                      SerialContentOctets(X509_get0_serialNumber(cert.get())));
  return Base64UrlEncode(key_id) + "." + Base64UrlEncode(serial);
}

Result<RenewalInfo> ParseRenewalInfo(const json& doc) {
  if (!doc.is_object()) {
    return Status(ErrorCode::kProtocol, "malformed renewalInfo: not a JSON object");
  }
  auto window = doc.find("suggestedWindow");
  if (window == doc.end() || !window->is_object()) {
    return Status(ErrorCode::kProtocol, "malformed renewalInfo: no suggestedWindow");
  }
  CK_ASSIGN_OR_RETURN(std::optional<TimePoint> start,
                      internal::OptionalTime(*window, "start", kRenewalInfoWhat));
  CK_ASSIGN_OR_RETURN(std::optional<TimePoint> end,
                      internal::OptionalTime(*window, "end", kRenewalInfoWhat));
  // §4.2: the window must have both ends and must not be empty or inverted.
  if (!start || !end || *end < *start) {
    return Status(ErrorCode::kProtocol,
                  "malformed renewalInfo: suggestedWindow needs start <= end");
  }
  RenewalInfo info;
  info.window_start = *start;
  info.window_end = *end;
  CK_ASSIGN_OR_RETURN(info.explanation_url,
                      internal::OptionalString(doc, "explanationURL", kRenewalInfoWhat));
  if (!info.explanation_url.empty()) {
    std::string scheme = UrlScheme(info.explanation_url);
    if (scheme != "https" && scheme != "http") {
      return Status(ErrorCode::kProtocol, "renewalInfo explanationURL is not http(s)");
    }
    // It is stored and shown to people: no spaces or control characters that
    // could forge log lines or terminal output.
    for (unsigned char c : info.explanation_url) {
      if (c <= 0x20 || c == 0x7f) {
        return Status(ErrorCode::kProtocol,
                      "renewalInfo explanationURL contains spaces or control characters");
      }
    }
  }
  return info;
}

Result<RenewalInfo> Client::GetRenewalInfo(std::string_view cert_pem) {
  bool seeded = false;
  CK_ASSIGN_OR_RETURN(Directory directory, CurrentDirectory(&seeded));
  for (;;) {
    if (directory.renewal_info.empty()) {
      return Status(ErrorCode::kFailedPrecondition,
                    "the CA does not offer renewal information (no renewalInfo in its "
                    "directory)")
          .Where(directory.url);
    }
    int http_status = 0;
    Result<RenewalInfo> info = FetchRenewalInfo(directory.renewal_info, cert_pem, &http_status);
    if (info.ok() || !seeded || http_status != 404) return info;
    // A kept directory whose renewalInfo URL the CA no longer serves.
    CK_ASSIGN_OR_RETURN(directory, RefreshDirectory());
    seeded = false;
  }
}

Result<RenewalInfo> Client::GetRenewalInfo(std::string_view renewal_info_url,
                                           std::string_view cert_pem) {
  int http_status = 0;
  return FetchRenewalInfo(std::string(renewal_info_url), cert_pem, &http_status);
}

Result<RenewalInfo> Client::FetchRenewalInfo(std::string url, std::string_view cert_pem,
                                             int* http_status) {
  CK_RETURN_IF_ERROR(internal::CheckUrl(url, scheme_, kRenewalInfoWhat));
  CK_ASSIGN_OR_RETURN(std::string id, AriCertificateId(cert_pem));
  if (url.back() != '/') url += '/';
  url += id;
  CK_ASSIGN_OR_RETURN(HttpResponse response, Get(RequestKind::kRenewalInfo, url));
  *http_status = response.status;
  if (response.status < 200 || response.status >= 300) {
    return ErrorResponseStatus("GET renewalInfo", url, response, clock_->Now());
  }
  CK_ASSIGN_OR_RETURN(json doc, internal::ParseJsonBody(response, url));
  auto info = ParseRenewalInfo(doc);
  if (!info.ok()) return info.status().Where(url);
  // §4.3: Retry-After says when to poll again.
  if (auto header = response.headers.Get("Retry-After")) {
    info->retry_after = ParseRetryAfter(*header, clock_->Now());
  }
  return info;
}

}  // namespace certkeeper::acme
