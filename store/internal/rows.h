// Helpers shared by the SqliteInventory source files: list encoding and input
// checks that produce the same clear errors everywhere.
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
Result<std::vector<std::string>> DecodeList(const std::string& text,
                                            std::string_view column);

// kInvalidArgument "<operation>: <field> must not be empty".
Status RequireNonEmpty(std::string_view value, std::string_view field,
                       std::string_view operation);

// kNotFound for a certificate the inventory does not know, with a hint.
Status UnknownCertificate(std::string_view name, std::string_view operation);

}  // namespace certkeeper::store::internal

#endif  // CERTKEEPER_STORE_INTERNAL_ROWS_H_
