// Certificate download (RFC 8555 §7.4.2) and revocation (§7.6).
#include <utility>

#include "acme/client.h"
#include "acme/internal/json_fields.h"
#include "base/encoding.h"

namespace certkeeper::acme {

namespace {
using nlohmann::json;
constexpr std::string_view kPemChainType = "application/pem-certificate-chain";
// Chains are larger than JSON resources; a few certificates still fit easily.
constexpr size_t kMaxChainBytes = 2 << 20;
constexpr size_t kMaxAlternates = 8;
}  // namespace

Result<std::string> Client::DownloadChain(const std::string& url,
                                          std::vector<std::string>* alternates,
                                          std::vector<ParsedCertificate>* certs) {
  PostOptions options;
  options.accept = std::string(kPemChainType);
  options.max_response_bytes = kMaxChainBytes;
  CK_ASSIGN_OR_RETURN(HttpResponse response,
                      Post(RequestKind::kCertificate, url, "", options));
  std::string content_type = response.headers.Get("Content-Type").value_or("");
  if (AsciiLower(content_type).rfind(kPemChainType, 0) != 0) {
    return Status(ErrorCode::kProtocol,
                  "certificate download returned Content-Type \"" + content_type +
                      "\" instead of " + std::string(kPemChainType))
        .Where(url);
  }
  auto parsed = ParsePemCertificates(response.body);
  if (!parsed.ok()) {
    return parsed.status().Annotate("downloaded certificate chain").Where(url);
  }
  *certs = std::move(*parsed);
  if (alternates != nullptr) {
    for (const Link& link : ParseLinks(response.headers)) {
      if (link.rel != "alternate") continue;
      CK_RETURN_IF_ERROR(internal::CheckUrl(link.uri, scheme_, "alternate chain"));
      if (alternates->size() < kMaxAlternates) alternates->push_back(link.uri);
    }
  }
  return std::move(response.body);
}

Result<CertificateChains> Client::DownloadCertificate(const std::string& url,
                                                      bool with_alternates) {
  CertificateChains chains;
  CK_ASSIGN_OR_RETURN(chains.pem, DownloadChain(url, &chains.alternate_urls, &chains.certs));
  if (!with_alternates) return chains;
  for (const std::string& alternate : chains.alternate_urls) {
    std::vector<ParsedCertificate> certs;
    CK_ASSIGN_OR_RETURN(std::string pem, DownloadChain(alternate, nullptr, &certs));
    chains.alternates.push_back(std::move(pem));
    chains.alternate_certs.push_back(std::move(certs));
  }
  return chains;
}

Status Client::RevokeCertificate(std::string_view cert_pem, RevocationReason reason,
                                 const PrivateKey* cert_key) {
  CK_ASSIGN_OR_RETURN(CertInfo info, ParseCertificatePem(cert_pem));
  if (cert_key != nullptr) {
    CK_RETURN_IF_ERROR(KeyMatchesCertificate(*cert_key, cert_pem).Annotate("revoke"));
  }
  json payload = {{"certificate", Base64UrlEncode(info.der)},
                  {"reason", static_cast<int>(reason)}};
  PostOptions options;
  options.jwk_key = cert_key;
  return PostToDirectory(
             RequestKind::kRevoke, &Directory::revoke_cert,
             [&](const Directory&) -> Result<std::string> { return payload.dump(); }, options,
             nullptr)
      .status();
}

}  // namespace certkeeper::acme
