// Parsing of an HTTP/1.x request head (RFC 9112 §2-§5) for the standalone
// HTTP-01 server: the request line and header fields, nothing else. A pure
// function of its input, so that it can be tested and fuzzed on its own.
#ifndef CERTKEEPER_CHALLENGES_HTTP_REQUEST_HEAD_H_
#define CERTKEEPER_CHALLENGES_HTTP_REQUEST_HEAD_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace certkeeper::challenges {

// The most a request head (request line, header fields and the empty line that
// ends them) may take. Validation requests are a few hundred bytes.
inline constexpr size_t kMaxRequestHead = 8 * 1024;

enum class HeadState {
  kComplete,    // a well-formed head; `head` is filled
  kIncomplete,  // a well-formed prefix: wait for more bytes
  kMalformed,   // not HTTP/1.x: answer 400
  kTooLarge,    // no end of head within the limit: answer 431
};

struct RequestHead {
  std::string method;   // e.g. "GET"; case-sensitive (RFC 9110 §9.1)
  std::string target;   // as sent: origin-form "/path?q" or absolute-form
  std::string version;  // "HTTP/1.0" or "HTTP/1.1"
  size_t length = 0;    // bytes of input the head took, the final empty line included
  // The header fields in the order sent: name as sent, value without the
  // surrounding whitespace (RFC 9112 §5.1). Bounded by the head's size.
  std::vector<std::pair<std::string, std::string>> fields;
};

// The value of the first field named `name` (compared case-insensitively,
// RFC 9110 §5.1), or nullptr when the head has none.
const std::string* FindField(const RequestHead& head, std::string_view name);

struct ParsedHead {
  HeadState state = HeadState::kIncomplete;
  RequestHead head;      // only when state == kComplete
  std::string problem;   // for kMalformed: what was wrong, for the log
};

// Parses the head at the start of `input` (bytes received so far; anything after
// the head, such as a body, is ignored). Contract:
//  - never reads past input, never allocates more than input.size() plus a
//    constant, and runs in time linear in input.size();
//  - kTooLarge when no complete head lies within the first `max_size` bytes,
//    also when those bytes are an unfinished but valid prefix;
//  - kMalformed as soon as a complete line is invalid: a request line other than
//    token SP target SP HTTP/1.x, a target with a byte outside 0x21-0x7E, a field
//    line without a token name followed directly by ':' (RFC 9112 §5.1: no
//    whitespace before the colon), obsolete line folding (§5.2), or a control
//    character in a field value;
//  - lines end in CRLF or a bare LF (§2.2); empty lines before the request line
//    are skipped (§2.2).
ParsedHead ParseRequestHead(std::string_view input, size_t max_size = kMaxRequestHead);

// The path of a target: origin-form "/a?b" gives "/a"; absolute-form
// "http://host/a?b" gives "/a" (RFC 9112 §3.2.2); anything else gives "".
std::string_view TargetPath(std::string_view target);

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_HTTP_REQUEST_HEAD_H_
