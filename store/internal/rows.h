// Helpers shared by the SqlInventory source files: list encoding, input
// checks that produce the same clear errors everywhere, and the bounding of
// free text before it is stored.
#ifndef CERTKEEPER_STORE_INTERNAL_ROWS_H_
#define CERTKEEPER_STORE_INTERNAL_ROWS_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace certkeeper::store::internal {

// Lists are stored as a JSON array of strings.
std::string EncodeList(const std::vector<std::string>& items);
// kProtocol naming the column when the stored text is not such an array.
// Reads a view (e.g. Statement::TextView); the items are copies.
Result<std::vector<std::string>> DecodeList(std::string_view text, std::string_view column);

// Free text that may come from outside (a CA's problem detail, a header value,
// a hook's output) MUST pass through one of these before it is bound to a
// statement: the inventory holds only valid UTF-8 (--json and SQLite's text
// functions rely on it), and a CA answering with a 1 MB detail must not grow
// every stored attempt by 1 MB. Both first apply SanitizeUtf8, then cut on a
// character boundary so that the result is at most max_bytes (max_bytes MUST
// be at least 64, the room the cut marker needs).
// Keeps the start (an error message says what failed first), then
// "… [N bytes cut]".
std::string StoredText(std::string_view text, size_t max_bytes);
// Keeps the end (where a hook's output usually says what went wrong), behind
// "[N bytes cut]\n".
std::string StoredTail(std::string_view text, size_t max_bytes);

// kInvalidArgument "<operation>: <field> must not be empty".
Status RequireNonEmpty(std::string_view value, std::string_view field,
                       std::string_view operation);

// kNotFound for a certificate the inventory does not know, with a hint.
Status UnknownCertificate(std::string_view name, std::string_view operation);

}  // namespace certkeeper::store::internal

#endif  // CERTKEEPER_STORE_INTERNAL_ROWS_H_
