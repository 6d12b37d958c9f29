// The staged next key of a certificate (`next_key = true`): a private key
// generated one renewal ahead, so that its pins can be published before any
// certificate carries it (RFC 7469 pin-sha256, DANE TLSA 3 1 1 of RFC 6698).
//
//   STATE/keys/<name>/next.pem   PKCS#8 PEM, 0600; the directory 0700
//
// Contract:
//  - The file is only ever created complete: a new key is written under a
//    temporary name (mode 0600 before the first byte, fsynced) and then
//    linked (create if absent) or renamed (replace) into place, with the
//    directory fsynced. Everything works through the directory's fd and never
//    follows a symlink at next.pem.
//  - A staged key that is readable or writable by group or others, or that
//    does not parse, is an error, never silently replaced: it may already be
//    pinned.
//  - EnsureNextKey without the run lease (e.g. from `show`) only ever creates
//    a missing key; replacing one happens in RotateNextKey, under the lease.
#ifndef CERTKEEPER_LIFECYCLE_NEXT_KEY_H_
#define CERTKEEPER_LIFECYCLE_NEXT_KEY_H_

#include <optional>
#include <string>
#include <string_view>

#include "base/crypto.h"
#include "base/status.h"
#include "lifecycle/state_layout.h"

namespace certkeeper::lifecycle {

// The staged key, or nullopt when none is staged. Generates nothing.
Result<std::optional<PrivateKey>> LoadNextKey(const StateLayout& layout, const std::string& name);

// The staged key when it is of `type`; otherwise (none staged, or one of
// another type after the configuration changed the key type) a new key of
// `type` is generated and staged. Two processes racing here agree on one key:
// a missing key is created with link(2), which fails when another process
// created it first, and the winner's key is returned.
Result<PrivateKey> EnsureNextKey(const StateLayout& layout, const std::string& name, KeyType type);

// After an issuance that used `used` as the new certificate's key: when the
// staged key is `used` (or is missing, or of another type), a new key of
// `type` is staged in its place (atomic replace); a staged key that is not
// `used` (staged by `show` while the issuance ran) stays, since it may be
// published already. Returns the staged key. MUST run with the run lease.
Result<PrivateKey> RotateNextKey(const StateLayout& layout, const std::string& name, KeyType type,
                                 const PrivateKey& used);

// Removes the staged key, if any (the directory stays).
Status RemoveNextKey(const StateLayout& layout, const std::string& name);

// The values operators publish for a key.
struct KeyPins {
  // base64(SHA-256(SubjectPublicKeyInfo DER)): the pin-sha256 of RFC 7469 §2.4.
  std::string spki_sha256_base64;
  // hex(SHA-256(SubjectPublicKeyInfo DER)): the data of a TLSA record with
  // usage 3 (DANE-EE), selector 1 (SPKI), matching type 1 (SHA-256)
  // (RFC 6698 §2.1, RFC 7218).
  std::string tlsa_3_1_1;
};

Result<KeyPins> PinsOf(const PrivateKey& key);
// The pins of the public key of the first certificate in cert_pem.
Result<KeyPins> PinsOfCertificate(std::string_view cert_pem);
// The same from a SubjectPublicKeyInfo in DER.
KeyPins PinsOfSpki(std::string_view spki_der);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_NEXT_KEY_H_
