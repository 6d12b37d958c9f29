// Reading one TOML table of certkeeper.toml with every key checked (the
// config file's parsers share it: cli/config_file.cc, cli/config_monitor.cc,
// cli/config_store.cc).
#ifndef CERTKEEPER_CLI_CONFIG_READER_H_
#define CERTKEEPER_CLI_CONFIG_READER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <toml++/toml.h>

#include "base/clock.h"
#include "base/status.h"
#include "lifecycle/config.h"

namespace certkeeper::cli {

// Reads one TOML table, remembering which keys were consumed so that whatever is
// left over can be reported as unknown, with its line.
class TableReader {
 public:
  TableReader(const toml::table& table, std::string path, const std::string& source)
      : table_(table), path_(std::move(path)), source_(source) {}

  Status Error(const toml::node& node, std::string_view key, std::string why) const {
    return Status(ErrorCode::kInvalidArgument,
                  source_ + ":" + std::to_string(node.source().begin.line) + ": " +
                      Qualified(key) + ": " + std::move(why))
        .Hint("see the \"Config file\" section of the README");
  }

  std::string Qualified(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

  const toml::node* Take(std::string_view key) {
    used_.insert(std::string(key));
    return table_.get(key);
  }

  Status String(std::string_view key, std::string& out) {
    const toml::node* n = Take(key);
    if (!n) return Status::Ok();
    if (!n->is_string()) return Error(*n, key, "must be a string");
    out = n->value<std::string>().value_or("");
    if (out.find('\0') != std::string::npos) return Error(*n, key, "contains a NUL byte");
    return Status::Ok();
  }

  Status Bool(std::string_view key, bool& out) {
    const toml::node* n = Take(key);
    if (!n) return Status::Ok();
    if (!n->is_boolean()) return Error(*n, key, "must be true or false");
    out = *n->value<bool>();
    return Status::Ok();
  }

  Status Int(std::string_view key, int& out, int64_t min, int64_t max) {
    const toml::node* n = Take(key);
    if (!n) return Status::Ok();
    if (!n->is_integer()) return Error(*n, key, "must be an integer");
    int64_t v = *n->value<int64_t>();
    if (v < min || v > max) {
      return Error(*n, key, "must be between " + std::to_string(min) + " and " +
                                std::to_string(max));
    }
    out = static_cast<int>(v);
    return Status::Ok();
  }

  Status StringList(std::string_view key, std::vector<std::string>& out) {
    const toml::node* n = Take(key);
    if (!n) return Status::Ok();
    const toml::array* arr = n->as_array();
    if (!arr) return Error(*n, key, "must be an array of strings");
    out.clear();
    for (const toml::node& item : *arr) {
      if (!item.is_string()) return Error(item, key, "must be an array of strings");
      out.push_back(*item.value<std::string>());
    }
    return Status::Ok();
  }

  // An RFC 3339 time such as "2026-12-24T18:00:00Z" (a TOML date-time or a
  // string).
  Status Time(std::string_view key, std::optional<TimePoint>& out);

  // A duration as "120s" / "5m" or an integer number of seconds.
  Status DurationValue(std::string_view key, Duration& out) {
    const toml::node* n = Take(key);
    if (!n) return Status::Ok();
    if (n->is_integer()) {
      // Beyond ~292 years the nanosecond Duration would overflow.
      constexpr int64_t kMaxSeconds = int64_t{100} * 366 * 86400;
      int64_t seconds = *n->value<int64_t>();
      if (seconds < -kMaxSeconds || seconds > kMaxSeconds) {
        return Error(*n, key, "is out of range");
      }
      out = std::chrono::seconds(seconds);
      return Status::Ok();
    }
    if (!n->is_string()) return Error(*n, key, "must be a duration like \"120s\"");
    auto d = ParseDuration(*n->value<std::string>());
    if (!d.ok()) return Error(*n, key, d.status().message());
    out = *d;
    return Status::Ok();
  }

  Status Table(std::string_view key, const toml::table*& out) {
    out = nullptr;
    const toml::node* n = Take(key);
    if (!n) return Status::Ok();
    out = n->as_table();
    if (!out) return Error(*n, key, "must be a table");
    return Status::Ok();
  }

  Status ArrayOfTables(std::string_view key, std::vector<const toml::table*>& out) {
    const toml::node* n = Take(key);
    if (!n) return Status::Ok();
    const toml::array* arr = n->as_array();
    if (!arr) return Error(*n, key, "must be an array of tables ([[" + std::string(key) + "]])");
    for (const toml::node& item : *arr) {
      const toml::table* t = item.as_table();
      if (!t) return Error(item, key, "must be an array of tables");
      out.push_back(t);
    }
    return Status::Ok();
  }

  // Every key not consumed is a mistake: name it and its line.
  Status Finish() const {
    for (const auto& [k, v] : table_) {
      if (!used_.count(std::string(k.str()))) {
        return Status(ErrorCode::kInvalidArgument,
                      source_ + ":" + std::to_string(k.source().begin.line) +
                          ": unknown key \"" + Qualified(k.str()) + "\"")
            .Hint("check the spelling; the accepted keys are listed in the README's "
                  "\"Config file\" section");
      }
    }
    return Status::Ok();
  }

  // Remaining keys as string options (DNS provider keys).
  Status RemainingAsOptions(std::map<std::string, std::string>& out) {
    for (const auto& [k, v] : table_) {
      std::string key(k.str());
      if (used_.count(key)) continue;
      if (v.is_string()) {
        out[key] = *v.value<std::string>();
      } else if (v.is_integer()) {
        out[key] = std::to_string(*v.value<int64_t>());
      } else if (v.is_boolean()) {
        out[key] = *v.value<bool>() ? "true" : "false";
      } else {
        return Error(v, key, "must be a string, integer or boolean");
      }
      used_.insert(key);
    }
    return Status::Ok();
  }

 private:
  const toml::table& table_;
  std::string path_;
  const std::string& source_;
  std::set<std::string> used_;
};

// [metrics], [serve], [[alert]], [[endpoint]] and [revocation] of the root
// table into config (cli/config_monitor.cc).
Status ParseMonitoring(TableReader& root, const toml::table& table, const std::string& source,
                       lifecycle::Config& config);

// The top-level `host` (unset: lifecycle::DefaultHostName()) and [store] of
// the root table into config (cli/config_store.cc).
Status ParseFleet(TableReader& root, const toml::table& table, const std::string& source,
                  lifecycle::Config& config);

}  // namespace certkeeper::cli

#endif  // CERTKEEPER_CLI_CONFIG_READER_H_
