#include "base/sealing.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "base/encoding.h"
#include "base/openssl_error.h"
#include "base/openssl_ptr.h"

namespace certkeeper {

namespace {

using CipherCtxPtr = OpenSslPtr<EVP_CIPHER_CTX, EVP_CIPHER_CTX_free>;
using MdCtxPtr = OpenSslPtr<EVP_MD_CTX, EVP_MD_CTX_free>;

constexpr std::string_view kKeyIdLabel = "certkeeper sealing key id";
constexpr size_t kKeyIdDigits = 16;
// A hex key file: 64 digits and at most one newline.
constexpr size_t kMaxKeyFileSize = 2 * SealingKey::kKeySize + 1;
// The longest base64 text Open decodes: a kMaxPlaintext value, padded.
constexpr size_t kMaxSealedBytes =
    SealingKey::kNonceSize + SealingKey::kMaxPlaintext + SealingKey::kTagSize;
constexpr size_t kMaxBase64 = (kMaxSealedBytes + 2) / 3 * 4;

// Wipes a buffer that held key bytes when it goes out of scope, on every return
// path.
class Wipe {
 public:
  Wipe(void* data, size_t size) : data_(data), size_(size) {}
  ~Wipe() { OPENSSL_cleanse(data_, size_); }
  Wipe(const Wipe&) = delete;
  Wipe& operator=(const Wipe&) = delete;

 private:
  void* data_;
  size_t size_;
};

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsLowerHexId(std::string_view s) {
  if (s.size() != kKeyIdDigits) return false;
  for (char c : s) {
    if (HexValue(c) < 0 || (c >= 'A' && c <= 'F')) return false;
  }
  return true;
}

bool AllHex(const unsigned char* data, size_t size) {
  for (size_t i = 0; i < size; ++i) {
    if (HexValue(static_cast<char>(data[i])) < 0) return false;
  }
  return true;
}

std::string CreateHint(const std::string& path) {
  return "every host of the fleet uses the same key file: copy it from a host that "
         "has it (owner root, mode 0600); for a new fleet create it with: "
         "(umask 077; head -c 32 /dev/urandom > " + path + "); chmod 600 " + path;
}

Status KeyFileError(ErrorCode code, std::string message, const std::string& path,
                    std::string hint) {
  return Status(code, "encryption key file: " + std::move(message))
      .Where(path)
      .Hint(std::move(hint));
}

Status OpenErrnoStatus(const std::string& path, int err) {
  switch (err) {
    case ENOENT:
      return KeyFileError(ErrorCode::kNotFound, "does not exist", path, CreateHint(path));
    case ELOOP:
      return KeyFileError(ErrorCode::kPermissionDenied,
                          "is a symbolic link, not followed: a link can be repointed "
                          "at another file",
                          path, "point [store] encryption_key_file at the file itself");
    case EACCES:
    case EPERM:
      return KeyFileError(ErrorCode::kPermissionDenied,
                          std::string("cannot open: ") + strerror(err), path,
                          "run certkeeper as the user that owns the key file (root)");
    default:
      return KeyFileError(ErrorCode::kIo, std::string("cannot open: ") + strerror(err),
                          path, "check the path in [store] encryption_key_file");
  }
}

// The checks on the descriptor itself, so they hold for exactly the bytes read.
Status CheckKeyFileStat(const struct stat& st, const std::string& path) {
  if (!S_ISREG(st.st_mode)) {
    return KeyFileError(ErrorCode::kInvalidArgument, "is not a regular file", path,
                        CreateHint(path));
  }
  if (st.st_uid != geteuid()) {
    return KeyFileError(ErrorCode::kPermissionDenied,
                        "is owned by uid " + std::to_string(st.st_uid) +
                            ", not by uid " + std::to_string(geteuid()) +
                            " that certkeeper runs as",
                        path, "chown it to the user certkeeper runs as (root)");
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return KeyFileError(ErrorCode::kPermissionDenied,
                        std::string("is accessible by group or others (mode ") + mode +
                            "), expected 0600 or 0400",
                        path,
                        "restrict it with `chmod 600 " + path +
                            "`; if others may have read it, the sealed values in the "
                            "inventory are exposed to them");
  }
  return Status::Ok();
}

// Reads at most `capacity` bytes (one more than a valid file holds, so a longer
// file is detected without reading it whole).
Result<size_t> ReadKeyBytes(int fd, unsigned char* buf, size_t capacity,
                            const std::string& path) {
  size_t got = 0;
  while (got < capacity) {
    ssize_t n = read(fd, buf + got, capacity - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return KeyFileError(ErrorCode::kIo, std::string("cannot read: ") + strerror(errno),
                          path, "check the file system holding the key file");
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

// Turns the file's bytes into the 32 key bytes (into out). Messages give only
// lengths, never content.
Status ParseKeyFile(const unsigned char* buf, size_t size, unsigned char* out,
                    const std::string& path) {
  constexpr size_t kRaw = SealingKey::kKeySize;
  constexpr size_t kHex = 2 * kRaw;
  if (size == kRaw) {
    // 32 hex digits are 16 bytes written as hex (openssl rand -hex 16), not a
    // 256-bit key; 32 random bytes are all hex digits with probability 1e-34.
    if (AllHex(buf, size)) {
      return KeyFileError(ErrorCode::kInvalidArgument,
                          "holds 32 hex digits, which is a 16-byte key", path,
                          "a key is 32 bytes: 32 raw bytes or 64 hex digits; " +
                              CreateHint(path));
    }
    std::memcpy(out, buf, kRaw);
    return Status::Ok();
  }
  if (size == kHex || (size == kHex + 1 && buf[kHex] == '\n')) {
    for (size_t i = 0; i < kRaw; ++i) {
      int hi = HexValue(static_cast<char>(buf[2 * i]));
      int lo = HexValue(static_cast<char>(buf[2 * i + 1]));
      if (hi < 0 || lo < 0) {
        return KeyFileError(ErrorCode::kInvalidArgument,
                            "holds 64 bytes that are not all hex digits", path,
                            "write the key as 32 raw bytes or 64 hex digits; " +
                                CreateHint(path));
      }
      out[i] = static_cast<unsigned char>(hi << 4 | lo);
    }
    return Status::Ok();
  }
  std::string length = size >= kMaxKeyFileSize + 1
                           ? "more than " + std::to_string(kMaxKeyFileSize) + " bytes"
                           : std::to_string(size) + " bytes";
  return KeyFileError(ErrorCode::kInvalidArgument,
                      "holds " + length +
                          ", expected 32 raw bytes or 64 hex digits (and at most one "
                          "newline)",
                      path, CreateHint(path));
}

// SHA-256(label || key), streamed so the key is never copied into a string.
Result<std::string> ComputeKeyId(const unsigned char* key) {
  MdCtxPtr ctx(EVP_MD_CTX_new());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), kKeyIdLabel.data(), kKeyIdLabel.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), key, SealingKey::kKeySize) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest, &len) != 1 || len != 32) {
    return Status(ErrorCode::kInternal, "sealing key id: SHA-256 failed: " + OpenSslErrors());
  }
  std::string hex = HexEncode(std::string_view(reinterpret_cast<char*>(digest), len));
  return hex.substr(0, kKeyIdDigits);
}

std::string Header(const std::string& id) {
  return std::string(SealingKey::kPrefix) + id + ":";
}

// Feeds the GCM additional data: the header, then the caller's aad.
bool FeedAad(EVP_CIPHER_CTX* ctx, std::string_view header, std::string_view aad,
             bool encrypt) {
  auto update = encrypt ? EVP_EncryptUpdate : EVP_DecryptUpdate;
  int len = 0;
  if (update(ctx, nullptr, &len, Bytes(header), static_cast<int>(header.size())) != 1) {
    return false;
  }
  return aad.empty() ||
         update(ctx, nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) == 1;
}

}  // namespace

SealingKey::SealingKey(std::string_view raw32) {
  std::memcpy(key_.data(), raw32.data(), kKeySize);
}

SealingKey::~SealingKey() { OPENSSL_cleanse(key_.data(), key_.size()); }

Result<SealingKey> SealingKey::FromBytes(std::string_view raw32) {
  if (raw32.size() != kKeySize) {
    return Status(ErrorCode::kInvalidArgument,
                  "sealing key: " + std::to_string(raw32.size()) +
                      " bytes, expected 32 (AES-256)");
  }
  SealingKey key(raw32);
  CK_ASSIGN_OR_RETURN(key.id_, ComputeKeyId(key.key_.data()));
  return key;
}

Result<SealingKey> SealingKey::Load(const std::string& path) {
  // O_NONBLOCK: opening a FIFO planted at the path must not hang the run; it
  // is refused below as not a regular file.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return OpenErrnoStatus(path, errno);
  struct FdCloser {
    int fd;
    ~FdCloser() { close(fd); }
  } closer{fd};
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    return KeyFileError(ErrorCode::kIo, std::string("cannot stat: ") + strerror(errno),
                        path, "check the path in [store] encryption_key_file");
  }
  CK_RETURN_IF_ERROR(CheckKeyFileStat(st, path));

  unsigned char buf[kMaxKeyFileSize + 1];
  unsigned char raw[kKeySize];
  Wipe wipe_buf(buf, sizeof buf);
  Wipe wipe_raw(raw, sizeof raw);
  CK_ASSIGN_OR_RETURN(size_t size, ReadKeyBytes(fd, buf, sizeof buf, path));
  CK_RETURN_IF_ERROR(ParseKeyFile(buf, size, raw, path));
  auto key = FromBytes(std::string_view(reinterpret_cast<char*>(raw), sizeof raw));
  if (!key.ok()) return key.status().Where(path);
  return key;
}

Result<std::string> SealingKey::Seal(std::string_view plaintext,
                                     std::string_view aad) const {
  if (plaintext.size() > kMaxPlaintext) {
    return Status(ErrorCode::kInvalidArgument,
                  "seal: " + std::to_string(plaintext.size()) +
                      " bytes exceed the limit of 16 MiB");
  }
  if (aad.size() > kMaxPlaintext) {
    return Status(ErrorCode::kInvalidArgument, "seal: additional data exceeds 16 MiB");
  }
  std::string raw(kNonceSize + plaintext.size() + kTagSize, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  // A repeated GCM nonce under one key reveals the XOR of two plaintexts and
  // the authentication key (SP 800-38D §8): no value without fresh randomness.
  if (RAND_bytes(out, static_cast<int>(kNonceSize)) != 1) {
    return Status(ErrorCode::kInternal,
                  "seal: the random generator failed: " + OpenSslErrors())
        .Hint("the system's entropy source is unavailable; nothing was written");
  }
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx && EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                                      nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN,
                                static_cast<int>(kNonceSize), nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), out) == 1 &&
            FeedAad(ctx.get(), Header(id_), aad, /*encrypt=*/true);
  if (ok && !plaintext.empty()) {
    ok = EVP_EncryptUpdate(ctx.get(), out + kNonceSize, &len, Bytes(plaintext),
                           static_cast<int>(plaintext.size())) == 1 &&
         static_cast<size_t>(len) == plaintext.size();
  }
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), out + kNonceSize + plaintext.size(), &len) == 1 &&
       len == 0 &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagSize),
                           out + kNonceSize + plaintext.size()) == 1;
  if (!ok) {
    return Status(ErrorCode::kInternal, "seal: AES-256-GCM failed: " + OpenSslErrors());
  }
  return Header(id_) + Base64Encode(raw);
}

Result<std::string> SealingKey::Open(std::string_view sealed, std::string_view aad) const {
  auto malformed = [](std::string what) {
    return Status(ErrorCode::kInvalidArgument, "sealed value: " + std::move(what))
        .Hint("the stored value is not one certkeeper sealed (ck1:<key id>:<base64>); "
              "it was truncated or edited");
  };
  if (aad.size() > kMaxPlaintext) {
    return Status(ErrorCode::kInvalidArgument, "open: additional data exceeds 16 MiB");
  }
  if (sealed.substr(0, kPrefix.size()) != kPrefix) {
    return malformed("does not start with \"ck1:\"");
  }
  std::string_view rest = sealed.substr(kPrefix.size());
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos || !IsLowerHexId(rest.substr(0, colon))) {
    return malformed("no key id of 16 lower-case hex digits after \"ck1:\"");
  }
  std::string_view value_id = rest.substr(0, colon);
  std::string_view text = rest.substr(colon + 1);
  if (value_id != id_) {
    return Status(ErrorCode::kPermissionDenied,
                  "sealed with key " + std::string(value_id) + ", this host's key is " +
                      id_ + ": the [store] encryption_key_file differs from the one "
                      "the fleet uses")
        .Hint("install the fleet's key file on this host (copy it from a host that "
              "opens the inventory); nothing was overwritten");
  }
  if (text.size() > kMaxBase64) return malformed("longer than 16 MiB of plaintext");
  // Seal writes padded base64: exactly one accepted spelling of each value.
  if (text.size() % 4 != 0) return malformed("base64 text is not padded to 4 characters");
  auto raw = Base64Decode(text);
  if (!raw.ok()) return malformed(raw.status().message());
  if (raw->size() < kNonceSize + kTagSize) {
    return malformed(std::to_string(raw->size()) + " bytes, shorter than nonce and tag (" +
                     std::to_string(kNonceSize + kTagSize) + ")");
  }
  const auto* in = Bytes(*raw);
  size_t ct_size = raw->size() - kNonceSize - kTagSize;
  std::string plain(ct_size, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plain.data());

  CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr,
                                      nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN,
                                static_cast<int>(kNonceSize), nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key_.data(), in) == 1;
  if (!ok) return Status(ErrorCode::kInternal, "open: AES-256-GCM failed: " + OpenSslErrors());
  ok = FeedAad(ctx.get(), Header(id_), aad, /*encrypt=*/false);
  if (ok && ct_size > 0) {
    ok = EVP_DecryptUpdate(ctx.get(), out, &len, in + kNonceSize,
                           static_cast<int>(ct_size)) == 1 &&
         static_cast<size_t>(len) == ct_size;
  }
  // The tag is set before Final; Final compares it in constant time.
  ok = ok && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagSize),
                                 const_cast<unsigned char*>(in + kNonceSize + ct_size)) == 1 &&
       EVP_DecryptFinal_ex(ctx.get(), out + ct_size, &len) == 1 && len == 0;
  if (!ok) {
    // What was decrypted did not authenticate: it is wiped, never returned.
    OPENSSL_cleanse(plain.data(), plain.size());
    ERR_clear_error();  // a failed tag check is the expected cause, not news
    return Status(ErrorCode::kPermissionDenied, "cannot decrypt: wrong key or tampered value")
        .Hint("the value does not authenticate under this host's key " + id_ +
              " for this place in the inventory; nothing was overwritten");
  }
  return plain;
}

}  // namespace certkeeper
