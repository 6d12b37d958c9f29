#include "hooks/material.h"

#include "base/crypto.h"

namespace certkeeper::hooks {

namespace {

Status Refuse(const Material& material, std::string_view why, std::string_view hint) {
  return Status(ErrorCode::kFailedPrecondition,
                "refusing to deploy " + material.Label() + ": " + std::string(why))
      .Hint(std::string(hint));
}

}  // namespace

std::string Material::Label() const { return name + " v" + std::to_string(version); }

Status CheckMaterial(const Material& material, std::string_view trust_pem, TimePoint now) {
  auto leaf = ParseCertificatePem(material.cert_pem);
  if (!leaf.ok()) {
    return Refuse(material, "the certificate does not parse (" + leaf.status().message() + ")",
                  "the stored version is damaged: renew with --force");
  }
  if (!material.fingerprint_sha256.empty() &&
      leaf->sha256_fingerprint != material.fingerprint_sha256) {
    return Refuse(material,
                  "the certificate's SHA-256 " + leaf->sha256_fingerprint +
                      " differs from the recorded " + material.fingerprint_sha256,
                  "the files under the state directory changed since the version was "
                  "recorded: check them, or renew with --force");
  }
  auto full = ParseCertificatePem(material.fullchain_pem);
  if (!full.ok() || full->der != leaf->der) {
    return Refuse(material, "the full chain does not start with the certificate",
                  "the stored version is damaged: renew with --force");
  }

  auto key = PrivateKey::FromPem(material.key_pem);
  if (!key.ok()) {
    return Refuse(material, "the private key does not parse (" + key.status().message() + ")",
                  "the stored key is damaged: renew with --force to get a new key");
  }
  if (Status s = KeyMatchesCertificate(*key, material.cert_pem); !s.ok()) {
    return Refuse(material, "the private key does not belong to the certificate",
                  "a key and a certificate of different versions were mixed: renew with "
                  "--force");
  }

  if (now < leaf->not_before) {
    return Refuse(material,
                  "the certificate is not valid yet (not before " +
                      FormatRfc3339(leaf->not_before) + ", now " + FormatRfc3339(now) + ")",
                  "check this machine's clock");
  }
  if (now >= leaf->not_after) {
    return Refuse(material,
                  "the certificate expired at " + FormatRfc3339(leaf->not_after),
                  "renew it: certkeeper renew " + material.name + " --force");
  }

  if (Status s = VerifyChain(material.cert_pem, material.chain_pem, trust_pem, now); !s.ok()) {
    return Refuse(material, "the chain does not verify (" + s.message() + ")",
                  "is the intermediate missing? For a private or test CA, give its root "
                  "with --ca-bundle");
  }

  for (const std::string& domain : material.domains) {
    if (!CertificateCovers(*leaf, domain)) {
      return Refuse(material, "the certificate does not cover " + domain,
                    "the configured domains changed since it was issued: renew with "
                    "--force");
    }
  }
  return Status::Ok();
}

}  // namespace certkeeper::hooks
