// The staged next key (next_key.h).
#include "lifecycle/next_key.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/x509.h>

#include <memory>
#include <utility>

#include "base/dirfd.h"
#include "base/encoding.h"

namespace certkeeper::lifecycle {

namespace {

constexpr const char* kNextKeyFile = "next.pem";

fs::WriteOptions PrivateMode() {
  fs::WriteOptions options;
  options.mode = 0600;
  return options;
}

Result<fs::Dir> KeysDirFd(const StateLayout& layout, const std::string& name) {
  auto dir = fs::MakeDirectories(layout.KeysDir(name), 0700);
  if (!dir.ok()) return dir.status().Annotate("open the key directory of \"" + name + "\"");
  return dir;
}

// The staged key inside dir, or nullopt when there is none.
Result<std::optional<PrivateKey>> LoadAt(const fs::Dir& dir, const std::string& path) {
  CK_ASSIGN_OR_RETURN(fs::Entry entry, fs::ReadEntryAt(dir, kNextKeyFile));
  if (entry.type == fs::Entry::Type::kAbsent) return std::optional<PrivateKey>();
  if (entry.type != fs::Entry::Type::kFile) {
    return Status(ErrorCode::kFailedPrecondition, "the staged next key is not a regular file")
        .Where(path)
        .Hint("remove it; the next renewal or `certkeeper show` stages a new key");
  }
  if ((entry.st.st_mode & 077) != 0) {
    return Status(ErrorCode::kPermissionDenied,
                  "the staged next key is accessible to group or others")
        .Where(path)
        .Hint("it may have been read: remove it (a new one is staged) and unpublish its pins");
  }
  auto key = PrivateKey::FromPem(entry.content);
  if (!key.ok()) {
    return Status(key.status())
        .Annotate("read the staged next key")
        .Where(path)
        .Hint("remove it; the next renewal or `certkeeper show` stages a new key");
  }
  return std::optional<PrivateKey>(std::move(*key));
}

// Creates next.pem from a complete temporary file with linkat, which fails
// with EEXIST when another process staged one first. True when this call
// created it.
Result<bool> CreateIfAbsent(const fs::Dir& dir, const std::string& pem, const std::string& path) {
  const std::string tmp = std::string(kNextKeyFile) + ".tmp-" + fs::RandomName();
  CK_RETURN_IF_ERROR(fs::WriteFileAt(dir, tmp, pem, PrivateMode()));
  const int rc = linkat(dir.fd(), tmp.c_str(), dir.fd(), kNextKeyFile, 0);
  const int err = errno;
  Status removed = fs::UnlinkAt(dir, tmp);
  if (rc != 0 && err != EEXIST) {
    return Status(ErrorCode::kIo, std::string("cannot stage the next key: ") + strerror(err))
        .Where(path);
  }
  CK_RETURN_IF_ERROR(removed);
  CK_RETURN_IF_ERROR(fs::SyncDirAt(dir));
  return rc == 0;
}

}  // namespace

Result<std::optional<PrivateKey>> LoadNextKey(const StateLayout& layout, const std::string& name) {
  auto dir = fs::OpenDirectory(layout.KeysDir(name));
  if (!dir.ok()) {
    if (dir.status().code() == ErrorCode::kNotFound) return std::optional<PrivateKey>();
    return dir.status().Annotate("open the key directory of \"" + name + "\"");
  }
  return LoadAt(*dir, layout.NextKeyPath(name));
}

Result<PrivateKey> EnsureNextKey(const StateLayout& layout, const std::string& name,
                                 KeyType type) {
  CK_ASSIGN_OR_RETURN(fs::Dir dir, KeysDirFd(layout, name));
  const std::string path = layout.NextKeyPath(name);
  CK_ASSIGN_OR_RETURN(std::optional<PrivateKey> staged, LoadAt(dir, path));
  if (staged && staged->type() == type) return std::move(*staged);
  CK_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(type));
  CK_ASSIGN_OR_RETURN(std::string pem, key.ToPem());
  if (staged) {
    // Another key type: the staged key can never be used, so it is replaced.
    CK_RETURN_IF_ERROR(fs::WriteFileAt(dir, kNextKeyFile, pem, PrivateMode()));
    return key;
  }
  CK_ASSIGN_OR_RETURN(bool created, CreateIfAbsent(dir, pem, path));
  if (created) return key;
  CK_ASSIGN_OR_RETURN(staged, LoadAt(dir, path));
  if (!staged || staged->type() != type) {
    return Status(ErrorCode::kFailedPrecondition, "the staged next key changed while it was staged")
        .Where(path)
        .Hint("another certkeeper process is staging it; try again");
  }
  return std::move(*staged);
}

Result<PrivateKey> RotateNextKey(const StateLayout& layout, const std::string& name, KeyType type,
                                 const PrivateKey& used) {
  CK_ASSIGN_OR_RETURN(fs::Dir dir, KeysDirFd(layout, name));
  const std::string path = layout.NextKeyPath(name);
  CK_ASSIGN_OR_RETURN(std::optional<PrivateKey> staged, LoadAt(dir, path));
  if (staged && staged->type() == type) {
    CK_ASSIGN_OR_RETURN(std::string staged_spki, staged->PublicKeyDer());
    CK_ASSIGN_OR_RETURN(std::string used_spki, used.PublicKeyDer());
    if (staged_spki != used_spki) return std::move(*staged);
  }
  CK_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Generate(type));
  CK_ASSIGN_OR_RETURN(std::string pem, key.ToPem());
  CK_RETURN_IF_ERROR(fs::WriteFileAt(dir, kNextKeyFile, pem, PrivateMode()));
  return key;
}

Status RemoveNextKey(const StateLayout& layout, const std::string& name) {
  auto dir = fs::OpenDirectory(layout.KeysDir(name));
  if (!dir.ok()) {
    return dir.status().code() == ErrorCode::kNotFound ? Status::Ok() : dir.status();
  }
  CK_RETURN_IF_ERROR(fs::UnlinkAt(*dir, kNextKeyFile));
  return fs::SyncDirAt(*dir);
}

KeyPins PinsOfSpki(std::string_view spki_der) {
  const std::string digest = Sha256(spki_der);
  return KeyPins{Base64Encode(digest), HexEncode(digest)};
}

Result<KeyPins> PinsOf(const PrivateKey& key) {
  CK_ASSIGN_OR_RETURN(std::string spki, key.PublicKeyDer());
  return PinsOfSpki(spki);
}

Result<KeyPins> PinsOfCertificate(std::string_view cert_pem) {
  CK_ASSIGN_OR_RETURN(CertInfo info, ParseCertificatePem(cert_pem));
  const auto* p = reinterpret_cast<const unsigned char*>(info.der.data());
  std::unique_ptr<X509, decltype(&X509_free)> cert(
      d2i_X509(nullptr, &p, static_cast<long>(info.der.size())), X509_free);
  X509_PUBKEY* pub = cert ? X509_get_X509_PUBKEY(cert.get()) : nullptr;
  unsigned char* der = nullptr;
  const int len = pub ? i2d_X509_PUBKEY(pub, &der) : -1;
  if (len <= 0) {
    return Status(ErrorCode::kInvalidArgument,
                  "cannot read the public key of the certificate for its pins");
  }
  std::string spki(reinterpret_cast<const char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return PinsOfSpki(spki);
}

}  // namespace certkeeper::lifecycle
