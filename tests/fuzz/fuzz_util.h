// Shared helpers of the libFuzzer targets in tests/fuzz/.
#ifndef CERTKEEPER_TESTS_FUZZ_FUZZ_UTIL_H_
#define CERTKEEPER_TESTS_FUZZ_FUZZ_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <nlohmann/json.hpp>

namespace certkeeper::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// The input as JSON, or a discarded value; never throws (the ACME client parses
// bodies the same way, see acme/internal/json_fields.cc).
inline nlohmann::json ParseJson(const uint8_t* data, size_t size) {
  return nlohmann::json::parse(AsText(data, size), nullptr, /*allow_exceptions=*/false);
}

// A property of a parser's result does not hold: report and abort, so that
// libFuzzer saves the input as a crash.
#define CK_FUZZ_CHECK(cond)                                                        \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      std::fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__,   \
                   #cond);                                                         \
      std::abort();                                                                \
    }                                                                              \
  } while (0)

}  // namespace certkeeper::fuzz

#endif  // CERTKEEPER_TESTS_FUZZ_FUZZ_UTIL_H_
