#include "challenges/dns_provider_plugin.h"

#include <dlfcn.h>

#include <cstring>
#include <vector>

namespace certkeeper::challenges {
namespace {

constexpr size_t kErrLen = 1024;

Status PluginError(const std::string& library, std::string message, std::string hint) {
  return Status(ErrorCode::kFailedPrecondition, "dns-01 plugin: " + message)
      .Where(library)
      .Hint(std::move(hint));
}

std::string ErrText(const std::vector<char>& err) {
  std::string text(err.data(), strnlen(err.data(), err.size()));
  return text.empty() ? "no message" : text;
}

}  // namespace

Result<std::unique_ptr<PluginDnsProvider>> PluginDnsProvider::Load(
    const std::string& library, const std::map<std::string, std::string>& options) {
  if (library.empty() || library.front() != '/') {
    return Status(ErrorCode::kInvalidArgument,
                  "dns-01 plugin: `library` must be an absolute path, got '" + library + "'")
        .Hint("set library = \"/usr/lib/certkeeper/libdns-foo.so\"");
  }
  void* dl = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (dl == nullptr) {
    const char* why = dlerror();
    return PluginError(library, std::string("cannot load the library: ") + (why ? why : "?"),
                       "check the path and that the library was built for this system");
  }
  auto entry = reinterpret_cast<certkeeper_dns_plugin_v1_fn>(
      dlsym(dl, CERTKEEPER_DNS_PLUGIN_ENTRY));
  if (entry == nullptr) {
    dlclose(dl);
    return PluginError(library, "the library exports no " CERTKEEPER_DNS_PLUGIN_ENTRY "()",
                       "this is not a certkeeper DNS plugin, or it was built for another ABI");
  }
  const certkeeper_dns_plugin_v1* table = entry();
  if (table == nullptr || table->abi_version != CERTKEEPER_DNS_PLUGIN_ABI_VERSION ||
      table->struct_size < sizeof(certkeeper_dns_plugin_v1)) {
    std::string got = table == nullptr ? "no table" : "ABI version " +
                                                          std::to_string(table->abi_version);
    dlclose(dl);
    return PluginError(library,
                       "plugin ABI mismatch: certkeeper speaks ABI version " +
                           std::to_string(CERTKEEPER_DNS_PLUGIN_ABI_VERSION) + ", the plugin " +
                           got,
                       "rebuild the plugin against this certkeeper's "
                       "certkeeper_dns_plugin.h");
  }
  if (table->create == nullptr || table->present == nullptr || table->cleanup == nullptr ||
      table->destroy == nullptr) {
    dlclose(dl);
    return PluginError(library, "the plugin table lacks create/present/cleanup/destroy",
                       "fill every required function pointer");
  }
  std::unique_ptr<PluginDnsProvider> provider(new PluginDnsProvider(library, dl, table));
  std::vector<certkeeper_dns_plugin_option> kv;
  for (const auto& [key, value] : options) kv.push_back({key.c_str(), value.c_str()});
  std::vector<char> err(kErrLen, '\0');
  provider->handle_ = table->create(kv.data(), kv.size(), err.data(), err.size());
  if (provider->handle_ == nullptr) {
    return Status(ErrorCode::kInvalidArgument,
                  "dns-01 plugin " + std::string(table->name ? table->name : "?") +
                      ": configuration refused: " + ErrText(err))
        .Where(library);
  }
  return provider;
}

PluginDnsProvider::~PluginDnsProvider() {
  if (handle_ != nullptr) table_->destroy(handle_);
  dlclose(dl_);
}

std::string PluginDnsProvider::name() const {
  return "plugin:" + std::string(table_->name ? table_->name : "?");
}

Status PluginDnsProvider::Call(std::string_view action, std::string_view fqdn,
                               std::string_view value) {
  std::string f(fqdn), v(value);
  if (f.find('\0') != std::string::npos || v.find('\0') != std::string::npos) {
    return Status(ErrorCode::kInvalidArgument, "dns-01 plugin: NUL byte in record data");
  }
  std::vector<char> err(kErrLen, '\0');
  int rc = action == "present" ? table_->present(handle_, f.c_str(), v.c_str(), err.data(), err.size())
                               : table_->cleanup(handle_, f.c_str(), v.c_str(), err.data(), err.size());
  if (rc == 0) return Status::Ok();
  return Status(ErrorCode::kUnavailable, name() + " " + std::string(action) + " " + f +
                                             " failed: " + ErrText(err))
      .Where(library_);
}

Status PluginDnsProvider::Present(std::string_view fqdn, std::string_view value) {
  return Call("present", fqdn, value);
}

Status PluginDnsProvider::CleanUp(std::string_view fqdn, std::string_view value) {
  return Call("cleanup", fqdn, value);
}

Status PluginDnsProvider::Check() {
  if (table_->check == nullptr) return Status::Ok();
  std::vector<char> err(kErrLen, '\0');
  if (table_->check(handle_, err.data(), err.size()) == 0) return Status::Ok();
  return Status(ErrorCode::kUnavailable, name() + " check failed: " + ErrText(err))
      .Where(library_);
}

}  // namespace certkeeper::challenges
