#include "acme/nonce_pool.h"


namespace certkeeper::acme {

namespace {
// Generous bound on a nonce; RFC 8555 sets none, real CAs use about 40 bytes.
constexpr size_t kMaxNonceLength = 512;

// RFC 8555 §6.5.1: the value is base64url; clients ignore invalid values. Only
// the alphabet is checked, the value is otherwise opaque.
bool IsBase64UrlAlphabet(std::string_view text) {
  for (char c : text) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}
}  // namespace

bool NoncePool::Add(std::string_view nonce) {
  if (nonce.empty() || nonce.size() > kMaxNonceLength || !IsBase64UrlAlphabet(nonce)) {
    return false;
  }
  std::lock_guard<std::mutex> lock(mu_);
  nonces_.emplace_back(nonce);
  while (nonces_.size() > capacity_) nonces_.pop_front();
  return true;
}

std::optional<std::string> NoncePool::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  if (nonces_.empty()) return std::nullopt;
  std::string nonce = std::move(nonces_.back());
  nonces_.pop_back();
  return nonce;
}

size_t NoncePool::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return nonces_.size();
}

void NoncePool::Clear() {
  std::lock_guard<std::mutex> lock(mu_);
  nonces_.clear();
}

}  // namespace certkeeper::acme
