// What the DNS plugin loader reads from a plugin (challenges/
// dns_provider_plugin.cc): the table returned by certkeeper_dns_plugin_v1()
// (ABI version, struct size, name, function pointers) and the return codes and
// error messages of create, present, cleanup and check. The plugin
// (fuzz_dns_plugin.cc) takes all of them from the fuzz input.
#include <dlfcn.h>

#include "challenges/dns_provider_plugin.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;
using namespace certkeeper::challenges;

namespace {

using SetInput = void (*)(const uint8_t*, size_t);

SetInput GetSetInput() {
  // Held open for the whole run, so each Load finds the same instance.
  static SetInput set = [] {
    void* lib = dlopen(CERTKEEPER_FUZZ_DNS_PLUGIN, RTLD_NOW | RTLD_LOCAL);
    if (lib == nullptr) {
      std::fprintf(stderr, "cannot load %s: %s\n", CERTKEEPER_FUZZ_DNS_PLUGIN, dlerror());
      std::abort();
    }
    auto fn = reinterpret_cast<SetInput>(dlsym(lib, "certkeeper_fuzz_dns_plugin_set"));
    if (fn == nullptr) std::abort();
    return fn;
  }();
  return set;
}

void CheckStatus(const Status& status) {
  CK_FUZZ_CHECK(!status.ToString().empty());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  GetSetInput()(data, size);
  auto provider = PluginDnsProvider::Load(CERTKEEPER_FUZZ_DNS_PLUGIN, {{"zone", "example.com."}});
  if (!provider.ok()) {
    CheckStatus(provider.status());
    return 0;
  }
  CK_FUZZ_CHECK((*provider)->name().rfind("plugin:", 0) == 0);
  Status present = (*provider)->Present("_acme-challenge.example.com.", "token-value");
  if (!present.ok()) CheckStatus(present);
  Status check = (*provider)->Check();
  if (!check.ok()) CheckStatus(check);
  Status cleanup = (*provider)->CleanUp("_acme-challenge.example.com.", "token-value");
  if (!cleanup.ok()) CheckStatus(cleanup);
  return 0;
}
