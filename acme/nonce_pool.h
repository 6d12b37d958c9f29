// Anti-replay nonces (RFC 8555 §6.5). Every response carries a fresh
// Replay-Nonce; keeping them means a newNonce request is needed only when the
// pool is empty (the first request of a process, or after concurrent bursts).
#ifndef CERTKEEPER_ACME_NONCE_POOL_H_
#define CERTKEEPER_ACME_NONCE_POOL_H_

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace certkeeper::acme {

// Thread-safe. Nonces are used at most once, newest first (the server is most
// likely to still remember them). The pool is bounded; the oldest fall out.
class NoncePool {
 public:
  explicit NoncePool(size_t capacity = 32) : capacity_(capacity) {}

  // Adds a nonce taken from a Replay-Nonce header. Values that are not
  // base64url (RFC 8555 §6.5.1) are ignored and false is returned.
  bool Add(std::string_view nonce);
  // Removes and returns a nonce, or nullopt when empty.
  std::optional<std::string> Take();
  size_t size() const;
  void Clear();

 private:
  size_t capacity_;
  mutable std::mutex mu_;
  std::deque<std::string> nonces_;
};

}  // namespace certkeeper::acme

#endif  // CERTKEEPER_ACME_NONCE_POOL_H_
