#include "challenges/tls_alpn_hello.h"

#include <algorithm>
#include <cctype>

namespace certkeeper::challenges {

long FindAlpn(const unsigned char* list, size_t len, std::string_view proto) {
  size_t i = 0;
  while (i < len) {
    size_t n = list[i];
    if (n == 0 || i + 1 + n > len) return -1;
    if (std::string_view(reinterpret_cast<const char*>(list + i + 1), n) == proto) {
      return static_cast<long>(i);
    }
    i += 1 + n;
  }
  return -1;
}

std::string SniFromExtension(const unsigned char* p, size_t len) {
  if (len < 2) return "";
  size_t list_len = (size_t{p[0]} << 8) | p[1];
  if (list_len + 2 != len) return "";
  size_t i = 2;
  while (i + 3 <= len) {
    unsigned type = p[i];
    size_t n = (size_t{p[i + 1]} << 8) | p[i + 2];
    if (i + 3 + n > len) return "";
    if (type == 0) {
      std::string name(reinterpret_cast<const char*>(p + i + 3), n);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(tolower(c)); });
      return name;
    }
    i += 3 + n;
  }
  return "";
}

}  // namespace certkeeper::challenges
