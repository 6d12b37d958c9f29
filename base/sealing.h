// Sealing: authenticated encryption of secrets kept in a shared inventory.
//
// The hosts of a fleet keep account keys and certificate private keys in one
// PostgreSQL database; what a database dump, a replica or a backup holds must
// not be a usable key. Every such value is sealed with AES-256-GCM (NIST SP
// 800-38D) under a 32-byte key that each host reads from a root-only file
// ([store] encryption_key_file), so the database alone never reveals a key.
//
// A sealed value is text, safe for a TEXT column and for logs:
//   ck1:<key id>:<base64 (RFC 4648 §4, padded) of nonce(12) || ciphertext || tag(16)>
// The GCM additional data is "ck1:<key id>:" followed by the caller's aad, so
// the version and key id are authenticated too, and the aad binds the value to
// where it is stored ("account:<server>", "version:<cert>:<n>"): a sealed value
// copied into another row does not open. See docs/fleet-encryption.md.
#ifndef CERTKEEPER_BASE_SEALING_H_
#define CERTKEEPER_BASE_SEALING_H_

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"

namespace certkeeper {

class SealingKey {
 public:
  static constexpr size_t kKeySize = 32;            // AES-256
  static constexpr size_t kNonceSize = 12;          // 96-bit GCM IV (SP 800-38D §5.2.1.1)
  static constexpr size_t kTagSize = 16;            // full 128-bit tag
  static constexpr size_t kMaxPlaintext = 16u << 20;  // 16 MiB: far above a PEM key/chain
  static constexpr std::string_view kPrefix = "ck1:";

  // Reads the key file at `path`: exactly 32 raw bytes, or 64 hex digits
  // optionally followed by one "\n". The file MUST be a regular file (the last
  // component is opened with O_NOFOLLOW, a FIFO never blocks the open), owned by
  // the effective user, with no group or other permission bit (0600 or 0400).
  // Errors: kNotFound when missing; kPermissionDenied for a symlink, another
  // owner or a group/other mode bit; kInvalidArgument for a non-regular file or
  // content of the wrong form. Each names the path and hints how to fix it. The
  // key bytes read are wiped from every buffer before returning.
  static Result<SealingKey> Load(const std::string& path);
  // raw32 MUST be exactly 32 bytes (kInvalidArgument otherwise).
  static Result<SealingKey> FromBytes(std::string_view raw32);

  SealingKey(const SealingKey&) = default;
  SealingKey& operator=(const SealingKey&) = default;
  ~SealingKey();

  // A public identifier of the key, safe to log and to store: the first 16 hex
  // digits of SHA-256("certkeeper sealing key id" || key). It tells two keys
  // apart; it does not help to find the key.
  const std::string& id() const { return id_; }

  // Seals plaintext (at most kMaxPlaintext bytes, kInvalidArgument beyond) under
  // a fresh random nonce from RAND_bytes: sealing the same plaintext twice gives
  // two different values. Fails closed (kInternal) when the random generator or
  // the cipher fails; never returns a value sealed with a predictable nonce.
  Result<std::string> Seal(std::string_view plaintext, std::string_view aad) const;

  // Opens a value made by Seal with the same key and the same aad.
  //  - kInvalidArgument: not of the sealed form (no "ck1:" prefix, a key id that
  //    is not 16 lower-case hex digits, bad base64, shorter than nonce + tag,
  //    longer than kMaxPlaintext);
  //  - kPermissionDenied "sealed with key <id>, this host's key is <id>: ..."
  //    when the value names another key id;
  //  - kPermissionDenied "cannot decrypt: wrong key or tampered value" when GCM
  //    authentication fails (changed nonce, ciphertext or tag, another aad, a
  //    forged key id).
  // Never returns partial plaintext: the whole value authenticates or nothing
  // is returned, and a buffer that held unauthenticated plaintext is wiped.
  Result<std::string> Open(std::string_view sealed, std::string_view aad) const;

 private:
  explicit SealingKey(std::string_view raw32);

  std::array<unsigned char, kKeySize> key_{};
  std::string id_;
};

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_SEALING_H_
