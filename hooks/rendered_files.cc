#include "hooks/rendered_files.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include <memory>

#include "base/crypto.h"
#include "base/fs.h"
#include "base/openssl_ptr.h"

namespace certkeeper::hooks {

namespace {

constexpr int kPkcs12Iterations = 100000;

using Pkcs12Ptr = OpenSslPtr<PKCS12, PKCS12_free>;

Result<X509Ptr> ParseX509(std::string_view pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  X509* cert = bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr;
  if (cert == nullptr) {
    return Status(ErrorCode::kInvalidArgument, "a certificate does not parse as PEM");
  }
  return X509Ptr(cert);
}

}  // namespace

Result<std::string> ReadPassphraseFile(const std::string& path) {
  CK_RETURN_IF_ERROR(fs::CheckPrivateFileMode(path));
  CK_ASSIGN_OR_RETURN(std::string content, fs::ReadFile(path));
  size_t end = content.find_first_of("\r\n");
  if (end != std::string::npos) content.resize(end);
  if (content.empty()) {
    return Status(ErrorCode::kInvalidArgument, "the PKCS#12 passphrase file is empty")
        .Where(path)
        .Hint("write the passphrase on the file's first line");
  }
  return content;
}

Result<std::string> BuildPkcs12(const Material& material, std::string_view passphrase) {
  CK_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::FromPem(material.key_pem));
  CK_ASSIGN_OR_RETURN(X509Ptr leaf, ParseX509(material.cert_pem));
  X509StackPtr chain(sk_X509_new_null());
  if (!chain) return Status(ErrorCode::kInternal, "out of memory");
  if (!material.chain_pem.empty()) {
    CK_ASSIGN_OR_RETURN(std::vector<std::string> pems,
                        SplitPemCertificates(material.chain_pem));
    for (const std::string& pem : pems) {
      CK_ASSIGN_OR_RETURN(X509Ptr cert, ParseX509(pem));
      if (sk_X509_push(chain.get(), cert.get()) == 0) {
        return Status(ErrorCode::kInternal, "out of memory");
      }
      cert.release();
    }
  }
  std::string pass(passphrase);
  // mac_iter -1: no MAC here; PKCS12_set_mac adds the SHA-256 one below.
  Pkcs12Ptr p12(PKCS12_create(pass.c_str(), material.name.c_str(), key.get(), leaf.get(),
                              chain.get(), NID_aes_256_cbc, NID_aes_256_cbc,
                              kPkcs12Iterations, -1, 0));
  if (!p12) return Status(ErrorCode::kInternal, "PKCS12_create failed");
  if (PKCS12_set_mac(p12.get(), pass.c_str(), -1, nullptr, 0, kPkcs12Iterations,
                     EVP_sha256()) != 1) {
    return Status(ErrorCode::kInternal, "PKCS12_set_mac failed");
  }
  unsigned char* der = nullptr;
  int len = i2d_PKCS12(p12.get(), &der);
  if (len <= 0) return Status(ErrorCode::kInternal, "cannot encode PKCS#12");
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

Result<std::vector<RenderedFile>> RenderFiles(const TargetConfig& config,
                                              const Material& material) {
  std::vector<RenderedFile> out;
  for (const auto& [kind, name] : EffectiveFiles(config)) {
    RenderedFile file{.kind = kind,
                      .name = name,
                      .content = {},
                      .mode = ContainsPrivateKey(kind) ? config.mode : mode_t{0644}};
    switch (kind) {
      case MaterialKind::kCert: file.content = material.cert_pem; break;
      case MaterialKind::kChain: file.content = material.chain_pem; break;
      case MaterialKind::kFullchain: file.content = material.fullchain_pem; break;
      case MaterialKind::kKey: file.content = material.key_pem; break;
      case MaterialKind::kCombined:
        file.content = material.key_pem;
        if (!file.content.empty() && file.content.back() != '\n') file.content += '\n';
        file.content += material.fullchain_pem;
        break;
      case MaterialKind::kPkcs12: {
        auto passphrase = ReadPassphraseFile(config.pkcs12_passphrase_file);
        if (!passphrase.ok()) {
          return Status(passphrase.status()).Annotate("pkcs12_passphrase_file");
        }
        CK_ASSIGN_OR_RETURN(file.content, BuildPkcs12(material, *passphrase));
        break;
      }
    }
    out.push_back(std::move(file));
  }
  return out;
}

}  // namespace certkeeper::hooks
