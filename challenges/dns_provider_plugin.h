// The plugin provider: loads a shared library implementing the C ABI of
// challenges/certkeeper_dns_plugin.h and forwards Present/CleanUp/Check to it.
#ifndef CERTKEEPER_CHALLENGES_DNS_PROVIDER_PLUGIN_H_
#define CERTKEEPER_CHALLENGES_DNS_PROVIDER_PLUGIN_H_

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "challenges/certkeeper_dns_plugin.h"
#include "challenges/dns_provider.h"

namespace certkeeper::challenges {

// Opens library for loading, as sshd's StrictModes would trust it: the file and
// every directory above it (of the path as configured, and of the path with
// links resolved) are owned by root or `user` and not writable by group or
// others (a root-owned sticky directory such as /tmp is allowed above it), and
// the file is a regular file. The resolved path is walked with O_NOFOLLOW
// through directory descriptors, so the descriptor returned (owned by the
// caller) is the file checked. Errors say which path failed which rule.
Result<int> OpenTrustedLibrary(const std::string& library, uid_t user);

class PluginDnsProvider : public DnsProvider {
 public:
  // dlopen()s library (an absolute path: no search path is used), checks the
  // entry point and the ABI version and creates a handle with options. Errors
  // name the library and say what is wrong (missing file, untrusted owner or
  // mode, missing entry point, ABI version mismatch, the plugin's own message
  // from create). The library MUST pass OpenTrustedLibrary for the running
  // user: its constructors run as soon as it is loaded, before any check.
  static Result<std::unique_ptr<PluginDnsProvider>> Load(
      const std::string& library, const std::map<std::string, std::string>& options);
  ~PluginDnsProvider() override;
  PluginDnsProvider(const PluginDnsProvider&) = delete;
  PluginDnsProvider& operator=(const PluginDnsProvider&) = delete;

  std::string name() const override;
  Status Present(std::string_view fqdn, std::string_view value) override;
  Status CleanUp(std::string_view fqdn, std::string_view value) override;
  Status Check() override;

 private:
  PluginDnsProvider(std::string library, void* dl, const certkeeper_dns_plugin_v1* table)
      : library_(std::move(library)), dl_(dl), table_(table) {}
  Status Call(std::string_view action, std::string_view fqdn, std::string_view value);

  std::string library_;
  void* dl_;
  const certkeeper_dns_plugin_v1* table_;
  void* handle_ = nullptr;
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_DNS_PROVIDER_PLUGIN_H_
