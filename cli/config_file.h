// Loading certkeeper.toml into a lifecycle::Config (ARCHITECTURE.md, "Config
// file"). Every key is checked: an unknown or mistyped key is an error that names
// the key, the file and the line, so a typo never silently changes behaviour.
#ifndef CERTKEEPER_CLI_CONFIG_FILE_H_
#define CERTKEEPER_CLI_CONFIG_FILE_H_

#include <string>
#include <string_view>

#include "base/status.h"
#include "lifecycle/config.h"

namespace certkeeper::cli {

Result<lifecycle::Config> LoadConfigFile(const std::string& path);
// Parses TOML text; `source` names it in messages.
Result<lifecycle::Config> ParseConfig(std::string_view text, const std::string& source);

}  // namespace certkeeper::cli

#endif  // CERTKEEPER_CLI_CONFIG_FILE_H_
