// Fuzzes the HTTP-01 server's request-head parser with arbitrary bytes: it must
// never crash, read out of bounds or grow with its input, and what it reports
// must be consistent with the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "challenges/http_request_head.h"

namespace {

void Check(bool condition) {
  if (!condition) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using certkeeper::challenges::HeadState;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (size_t limit : {certkeeper::challenges::kMaxRequestHead, size_t{64}}) {
    certkeeper::challenges::ParsedHead parsed =
        certkeeper::challenges::ParseRequestHead(input, limit);
    if (parsed.state == HeadState::kComplete) {
      Check(parsed.head.length <= size && parsed.head.length <= limit);
      Check(!parsed.head.method.empty() && !parsed.head.target.empty());
      Check(parsed.head.version.size() == 8);
      // The head alone parses the same.
      auto again = certkeeper::challenges::ParseRequestHead(input.substr(0, parsed.head.length),
                                                            limit);
      Check(again.state == HeadState::kComplete && again.head.target == parsed.head.target);
      std::string_view path = certkeeper::challenges::TargetPath(parsed.head.target);
      Check(path.size() <= parsed.head.target.size());
    }
    if (parsed.state == HeadState::kTooLarge) Check(size >= limit);
    if (parsed.state == HeadState::kIncomplete) Check(size < limit);
  }
  return 0;
}
