// The TOML configuration file (cli/config_file.cc ParseConfig over toml++):
// every key is checked and every error names the key and the line.
#include "cli/config_file.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto config = cli::ParseConfig(fuzz::AsText(data, size), "fuzz.toml");
  if (!config.ok()) CK_FUZZ_CHECK(!config.status().message().empty());
  return 0;
}
