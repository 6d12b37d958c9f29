#include "store/internal/rows.h"

#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/text.h"

namespace certkeeper::store::internal {

std::string EncodeList(const std::vector<std::string>& items) {
  // Invalid UTF-8 is replaced rather than thrown on: exceptions stay inside.
  return nlohmann::json(items).dump(-1, ' ', false,
                                    nlohmann::json::error_handler_t::replace);
}

namespace {

// The lists EncodeList writes hold plain names almost always: ["a","b"] with
// no escape. Those are split directly, in one pass that also checks them (a
// large inventory reads tens of thousands of them per `list`); anything else
// goes to the JSON parser.
std::optional<std::vector<std::string>> SplitPlainList(std::string_view text) {
  if (text.size() < 2 || text.front() != '[' || text.back() != ']') return std::nullopt;
  std::vector<std::string> items;
  const size_t end = text.size() - 1;
  size_t i = 1;
  if (i == end) return items;
  while (true) {
    if (text[i] != '"') return std::nullopt;
    const size_t start = ++i;
    bool ascii = true;
    for (; i < end; ++i) {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c == '"') break;
      if (c == '\\' || c < 0x20) return std::nullopt;
      if (c >= 0x80) ascii = false;
    }
    if (i == end) return std::nullopt;  // no closing quote before the ']'
    std::string_view item = text.substr(start, i - start);
    if (!ascii && !IsValidUtf8(item)) return std::nullopt;
    items.emplace_back(item);
    ++i;
    if (i == end) return items;
    if (text[i] != ',') return std::nullopt;
    ++i;
  }
}

}  // namespace

Result<std::vector<std::string>> DecodeList(std::string_view text, std::string_view column) {
  if (auto plain = SplitPlainList(text)) return std::move(*plain);
  nlohmann::json parsed =
      nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
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

namespace {
// Room kept for the marker: "… [" and " bytes cut]" plus up to 20 digits.
constexpr size_t kCutMarkerBytes = 40;
}  // namespace

std::string StoredText(std::string_view text, size_t max_bytes) {
  std::string clean = SanitizeUtf8(text);
  if (clean.size() <= max_bytes) return clean;
  std::string_view kept = Utf8Prefix(clean, max_bytes - kCutMarkerBytes);
  return std::string(kept) + "\u2026 [" + std::to_string(clean.size() - kept.size()) +
         " bytes cut]";
}

std::string StoredTail(std::string_view text, size_t max_bytes) {
  std::string clean = SanitizeUtf8(text);
  if (clean.size() <= max_bytes) return clean;
  std::string_view kept = Utf8Suffix(clean, max_bytes - kCutMarkerBytes);
  return "[" + std::to_string(clean.size() - kept.size()) + " bytes cut]\n" +
         std::string(kept);
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
