#include "challenges/dns_provider_plugin.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
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

// sshd's rule for files it trusts (StrictModes): owned by root or the running
// user and not writable by group or others. A root-owned sticky directory
// (/tmp) is allowed above the library: others cannot rename or remove what is
// in it.
Status CheckOwnerAndMode(const struct stat& st, uid_t user, const std::string& path,
                         const std::string& library) {
  if (st.st_uid != 0 && st.st_uid != user) {
    return PluginError(library,
                       path + " is owned by uid " + std::to_string(st.st_uid) +
                           ", not by root or uid " + std::to_string(user) +
                           "; refusing to load code another user can replace",
                       "chown root " + path);
  }
  bool sticky_root_dir = S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX) && st.st_uid == 0;
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && !sticky_root_dir) {
    return PluginError(library,
                       path + " is group or world writable; refusing to load code "
                              "another user can replace",
                       "chmod go-w " + path);
  }
  return Status::Ok();
}

Status FstatAndCheck(int fd, uid_t user, const std::string& path, const std::string& library,
                     bool want_dir) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return PluginError(library,
                       "cannot load the library: cannot stat " + path + ": " + strerror(errno),
                       "check the path");
  }
  if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode)) {
    return PluginError(library,
                       path + (want_dir ? " is not a directory" : " is not a regular file"),
                       "point `library` at the plugin's .so file");
  }
  return CheckOwnerAndMode(st, user, path, library);
}

// The directories above the path as configured, symlinks followed: a link in
// a directory others can write could be pointed elsewhere between runs.
Status CheckConfiguredParents(const std::string& library, uid_t user) {
  for (size_t slash = library.find('/', 1); slash != std::string::npos;
       slash = library.find('/', slash + 1)) {
    std::string dir = library.substr(0, slash);
    struct stat st;
    if (stat(dir.c_str(), &st) != 0) {
      return PluginError(library,
                         "cannot load the library: cannot stat " + dir + ": " + strerror(errno),
                         "check the path");
    }
    CK_RETURN_IF_ERROR(CheckOwnerAndMode(st, user, dir, library));
  }
  return Status::Ok();
}

}  // namespace

Result<int> OpenTrustedLibrary(const std::string& library, uid_t user) {
  CK_RETURN_IF_ERROR(CheckConfiguredParents(library, user));
  char* resolved = realpath(library.c_str(), nullptr);
  if (resolved == nullptr) {
    return PluginError(library, std::string("cannot load the library: ") + strerror(errno),
                       "check the path");
  }
  std::string real(resolved);
  free(resolved);
  // Walk the resolved path from / through directory descriptors without
  // following links, so that what is checked is what is opened.
  int dir = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) {
    return PluginError(library,
                       std::string("cannot load the library: cannot open /: ") + strerror(errno),
                       "");
  }
  Status checked = FstatAndCheck(dir, user, "/", library, true);
  size_t start = 1;
  while (checked.ok()) {
    size_t slash = real.find('/', start);
    bool last = slash == std::string::npos;
    std::string name = real.substr(start, last ? std::string::npos : slash - start);
    std::string so_far = real.substr(0, last ? std::string::npos : slash);
    int next = openat(dir, name.c_str(),
                      last ? O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
                           : O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    close(dir);
    dir = -1;
    if (next < 0) {
      return PluginError(library,
                         "cannot load the library: cannot open " + so_far + ": " +
                             strerror(errno),
                         "the path changed while it was checked, or is not readable");
    }
    checked = FstatAndCheck(next, user, so_far, library, !last);
    if (last && checked.ok()) return next;
    dir = next;
    start = slash + 1;
  }
  close(dir);
  return checked;
}

Result<std::unique_ptr<PluginDnsProvider>> PluginDnsProvider::Load(
    const std::string& library, const std::map<std::string, std::string>& options) {
  if (library.empty() || library.front() != '/') {
    return Status(ErrorCode::kInvalidArgument,
                  "dns-01 plugin: `library` must be an absolute path, got '" + library + "'")
        .Hint("set library = \"/usr/lib/certkeeper/libdns-foo.so\"");
  }
  // dlopen runs the library's constructors before any ABI check can happen,
  // so only a file no other user can change is loaded at all, and it is loaded
  // through the descriptor that was checked.
  CK_ASSIGN_OR_RETURN(int fd, OpenTrustedLibrary(library, geteuid()));
  std::string by_fd = "/proc/self/fd/" + std::to_string(fd);
  void* dl = dlopen(by_fd.c_str(), RTLD_NOW | RTLD_LOCAL);
  close(fd);
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
