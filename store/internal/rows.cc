#include "store/internal/rows.h"

#include <nlohmann/json.hpp>

namespace certkeeper::store::internal {

std::string EncodeList(const std::vector<std::string>& items) {
  // Invalid UTF-8 is replaced rather than thrown on: exceptions stay inside.
  return nlohmann::json(items).dump(-1, ' ', false,
                                    nlohmann::json::error_handler_t::replace);
}

Result<std::vector<std::string>> DecodeList(const std::string& text,
                                            std::string_view column) {
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_array()) {
    return Status(ErrorCode::kProtocol,
                  "stored " + std::string(column) + " is not a JSON array")
        .Hint("the inventory is damaged: restore it from a backup");
  }
  std::vector<std::string> items;
  for (const auto& item : parsed) {
    if (!item.is_string()) {
      return Status(ErrorCode::kProtocol,
                    "stored " + std::string(column) + " holds a non-string item")
          .Hint("the inventory is damaged: restore it from a backup");
    }
    items.push_back(item.get<std::string>());
  }
  return items;
}

Status RequireNonEmpty(std::string_view value, std::string_view field,
                       std::string_view operation) {
  if (!value.empty()) return Status::Ok();
  return Status(ErrorCode::kInvalidArgument,
                std::string(operation) + ": " + std::string(field) + " must not be empty");
}

Status UnknownCertificate(std::string_view name, std::string_view operation) {
  return Status(ErrorCode::kNotFound, std::string(operation) + ": no certificate named '" +
                                          std::string(name) + "' in the inventory")
      .Hint("`certkeeper list` shows the managed certificates");
}

}  // namespace certkeeper::store::internal
