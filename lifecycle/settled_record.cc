#include "lifecycle/settled_record.h"

#include <charconv>
#include <vector>

#include "base/encoding.h"

namespace certkeeper::lifecycle {

namespace {

constexpr std::string_view kMagic = "certkeeper-settled 1";

template <typename T>
bool ParseNumber(std::string_view field, T& out) {
  if (field.empty()) return false;
  auto [end, ec] = std::from_chars(field.data(), field.data() + field.size(), out);
  return ec == std::errc() && end == field.data() + field.size();
}

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::string LiveVersionsDigest(const std::map<std::string, store::CurrentVersions>& all) {
  std::string data;
  data.reserve(all.size() * 24);
  for (const auto& [name, current] : all) {
    data += name;
    data += '\0';
    data += std::to_string(current.live ? current.live->n : 0);
    data += '\n';
  }
  return HexEncode(Sha256(data));
}

std::string FormatSettledRecord(const SettledRecord& r) {
  return std::string(kMagic) + " " + std::to_string(r.live.dev) + " " +
         std::to_string(r.live.ino) + " " + std::to_string(r.live.mtime_ns) + " " +
         std::to_string(r.live.ctime_ns) + " " + r.digest + "\n";
}

std::optional<SettledRecord> ParseSettledRecord(std::string_view text) {
  if (text.size() > 256 || text.substr(0, kMagic.size()) != kMagic || text.back() != '\n') {
    return std::nullopt;
  }
  text.remove_prefix(kMagic.size());
  text.remove_suffix(1);
  std::vector<std::string_view> fields;
  while (!text.empty()) {
    if (text.front() != ' ') return std::nullopt;
    text.remove_prefix(1);
    size_t end = text.find(' ');
    fields.push_back(text.substr(0, end));
    text = end == std::string_view::npos ? std::string_view() : text.substr(end);
  }
  SettledRecord r;
  if (fields.size() != 5 || !ParseNumber(fields[0], r.live.dev) ||
      !ParseNumber(fields[1], r.live.ino) || !ParseNumber(fields[2], r.live.mtime_ns) ||
      !ParseNumber(fields[3], r.live.ctime_ns) || fields[4].size() != 64 ||
      !IsLowerHex(fields[4])) {
    return std::nullopt;
  }
  r.digest = std::string(fields[4]);
  return r;
}

}  // namespace certkeeper::lifecycle
