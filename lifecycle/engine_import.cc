// Importing certificates issued elsewhere (engine_versions.h).
#include <algorithm>
#include <filesystem>

#include "base/crypto.h"
#include "base/fs.h"
#include "base/names.h"
#include "lifecycle/engine_versions.h"

namespace certkeeper::lifecycle {

namespace {

struct ImportSource {
  std::string cert_path;
  std::string key_path;  // empty: no key
  std::string name;      // proposed; the certificate's first name when invalid
};

// A directory like certbot's live/<name>/, or a single PEM file.
ImportSource FindSource(const std::string& path) {
  ImportSource src{path, "", ""};
  if (std::filesystem::is_directory(path)) {
    for (const char* f : {"fullchain.pem", "cert.pem"}) {
      if (fs::Exists(path + "/" + f)) {
        src.cert_path = path + "/" + f;
        break;
      }
    }
    for (const char* f : {"privkey.pem", "key.pem"}) {
      if (fs::Exists(path + "/" + f)) src.key_path = path + "/" + f;
    }
    src.name = std::filesystem::path(path).filename().string();
  } else {
    src.name = std::filesystem::path(path).stem().string();
  }
  return src;
}

Result<std::string> ImportOne(const EngineContext& ctx, const std::string& path) {
  ImportSource src = FindSource(path);
  CK_ASSIGN_OR_RETURN(std::string pem, fs::ReadFile(src.cert_path));
  auto certs = SplitPemCertificates(pem);
  if (!certs.ok()) return certs.status().Annotate("import " + path);
  CK_ASSIGN_OR_RETURN(CertInfo info, ParseCertificatePem(certs->front()));
  // DNS names, then IP addresses (RFC 8738).
  const std::vector<std::string> identifiers = CertificateIdentifiers(info);
  if (identifiers.empty()) {
    return Status(ErrorCode::kInvalidArgument, "the certificate has no DNS names or IP addresses")
        .Where(src.cert_path);
  }
  std::string name = src.name;
  if (ValidateCertificateName(name).ok() == false) name = identifiers.front();
  std::replace(name.begin(), name.end(), ':', '_');
  std::replace(name.begin(), name.end(), '*', '_');
  CK_RETURN_IF_ERROR(ValidateCertificateName(name).Annotate("import " + path));
  VersionFiles files;
  files.cert_pem = certs->front();
  for (size_t i = 1; i < certs->size(); ++i) files.chain_pem += (*certs)[i];
  std::string key_type = "ec256";
  if (!src.key_path.empty()) {
    CK_ASSIGN_OR_RETURN(files.key_pem, fs::ReadFile(src.key_path));
    auto key = PrivateKey::FromPem(files.key_pem);
    if (!key.ok()) return key.status().Annotate("import " + src.key_path);
    CK_RETURN_IF_ERROR(KeyMatchesCertificate(*key, files.cert_pem).Annotate("import " + path));
    key_type = std::string(KeyTypeName(key->type()));
  }
  CertificateSpec spec;
  spec.name = name;
  spec.domains = identifiers;
  CK_ASSIGN_OR_RETURN(spec.key_type, ParseKeyType(key_type));
  CK_RETURN_IF_ERROR(ctx.inventory->PutCertificate(ToStoreSpec(spec, *ctx.config)));
  CK_ASSIGN_OR_RETURN(int n, ctx.inventory->NextVersionNumber(name));
  CK_RETURN_IF_ERROR(ctx.layout->WriteVersion(name, n, files));
  store::Version v = VersionFromCertificate(name, n, info, identifiers, key_type,
                                           ctx.layout->VersionDir(name, n));
  v.state = store::VersionState::kDeployed;
  CK_RETURN_IF_ERROR(ctx.inventory->AddVersion(v));
  CK_RETURN_IF_ERROR(ctx.layout->SwitchLive(name, n));
  ctx.Event(name, "imported", "from " + path + ", serial " + v.serial);
  return name;
}

}  // namespace

Result<std::vector<std::string>> ImportCertificates(const EngineContext& ctx,
                                                    const std::vector<std::string>& paths) {
  std::vector<std::string> imported;
  for (const std::string& path : paths) {
    CK_ASSIGN_OR_RETURN(std::string name, ImportOne(ctx, path));
    imported.push_back(std::move(name));
  }
  return imported;
}

}  // namespace certkeeper::lifecycle
