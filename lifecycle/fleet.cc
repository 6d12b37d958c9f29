#include "lifecycle/fleet.h"

#include <utility>
#include <vector>

namespace certkeeper::lifecycle {

namespace {

constexpr std::string_view kKeyCheckOwner = "fleet sealing key";
constexpr std::string_view kKeyCheckName = "check";
constexpr std::string_view kKeyCheckPlaintext = "certkeeper fleet sealing key check";
constexpr std::string_view kKeyFile = "privkey.pem";

const store::MaterialFile* FindFile(const std::vector<store::MaterialFile>& files,
                                    std::string_view name) {
  for (const store::MaterialFile& file : files) {
    if (file.name == name) return &file;
  }
  return nullptr;
}

// The sealed value is bound to its owner and file name: a value copied into
// another row does not open.
std::string Aad(std::string_view owner, std::string_view name) {
  return std::string(owner) + "\n" + std::string(name);
}

}  // namespace

Result<std::unique_ptr<Fleet>> Fleet::Join(std::string host, SealingKey key,
                                           store::MaterialStore* material) {
  CK_ASSIGN_OR_RETURN(std::vector<store::MaterialFile> check,
                      material->GetMaterial(kKeyCheckOwner));
  const store::MaterialFile* sealed = FindFile(check, kKeyCheckName);
  if (sealed == nullptr) {
    CK_ASSIGN_OR_RETURN(std::string value,
                        key.Seal(kKeyCheckPlaintext, Aad(kKeyCheckOwner, kKeyCheckName)));
    CK_RETURN_IF_ERROR(material->PutMaterial(
        kKeyCheckOwner, {{std::string(kKeyCheckName), std::move(value), true}}));
  } else {
    auto opened = key.Open(sealed->content, Aad(kKeyCheckOwner, kKeyCheckName));
    if (!opened.ok() || *opened != kKeyCheckPlaintext) {
      Status status = opened.ok() ? Status(ErrorCode::kPermissionDenied,
                                           "the fleet's key check did not match")
                                  : opened.status();
      return status.Annotate("join the fleet with [store] encryption_key_file")
          .Hint("use the same encryption_key_file on every host of the fleet; this "
                "host changed nothing in the shared inventory");
    }
  }
  return std::unique_ptr<Fleet>(new Fleet(std::move(host), std::move(key), material));
}

Status Fleet::ShareVersion(std::string_view name, int n, const VersionFiles& files) const {
  const std::string owner = store::VersionMaterial(name, n);
  CK_ASSIGN_OR_RETURN(std::string key, key_.Seal(files.key_pem, Aad(owner, kKeyFile)));
  return material_->PutMaterial(owner, {{"cert.pem", files.cert_pem, false},
                                        {"chain.pem", files.chain_pem, false},
                                        {std::string(kKeyFile), std::move(key), true}});
}

Result<VersionFiles> Fleet::FetchVersion(std::string_view name, int n) const {
  const std::string owner = store::VersionMaterial(name, n);
  CK_ASSIGN_OR_RETURN(std::vector<store::MaterialFile> files, material_->GetMaterial(owner));
  const store::MaterialFile* cert = FindFile(files, "cert.pem");
  const store::MaterialFile* chain = FindFile(files, "chain.pem");
  const store::MaterialFile* key = FindFile(files, kKeyFile);
  if (cert == nullptr || chain == nullptr || key == nullptr || !key->sealed) {
    return Status(ErrorCode::kNotFound, "version " + std::to_string(n) + " of '" +
                                            std::string(name) +
                                            "' has no files in the shared inventory")
        .Hint("it was issued before the inventory was shared; renew it with "
              "`certkeeper renew --force " + std::string(name) + "`");
  }
  VersionFiles out;
  out.cert_pem = cert->content;
  out.chain_pem = chain->content;
  auto opened = key_.Open(key->content, Aad(owner, kKeyFile));
  if (!opened.ok()) {
    return opened.status().Annotate("open the private key of version " + std::to_string(n) +
                                    " of '" + std::string(name) + "'");
  }
  out.key_pem = std::move(*opened);
  return out;
}

Status Fleet::ShareKey(std::string_view owner, std::string_view key_pem) const {
  CK_ASSIGN_OR_RETURN(std::string sealed, key_.Seal(key_pem, Aad(owner, kKeyFile)));
  return material_->PutMaterial(owner, {{std::string(kKeyFile), std::move(sealed), true}});
}

Result<std::string> Fleet::FetchKey(std::string_view owner) const {
  CK_ASSIGN_OR_RETURN(std::vector<store::MaterialFile> files, material_->GetMaterial(owner));
  const store::MaterialFile* key = FindFile(files, kKeyFile);
  if (key == nullptr || !key->sealed) {
    return Status(ErrorCode::kNotFound, "no key is shared for " + std::string(owner));
  }
  return key_.Open(key->content, Aad(owner, kKeyFile));
}

Status Fleet::ForgetKey(std::string_view owner) const { return material_->DeleteMaterial(owner); }

}  // namespace certkeeper::lifecycle
