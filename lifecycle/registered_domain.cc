#include "lifecycle/registered_domain.h"

#include <libpsl.h>
#include <sys/stat.h>

#include <utility>

#include "base/names.h"

namespace certkeeper::lifecycle {

namespace {

std::string LastTwoLabels(const std::string& name) {
  size_t last_dot = name.rfind('.');
  if (last_dot == std::string::npos || last_dot == 0) return name;
  size_t dot = name.rfind('.', last_dot - 1);
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

// True when `path` was modified before `other` (or either is missing).
bool IsOlderThan(const std::string& path, const char* other) {
  struct stat a, b;
  if (stat(path.c_str(), &a) != 0 || stat(other, &b) != 0) return true;
  return a.st_mtim.tv_sec < b.st_mtim.tv_sec;
}

}  // namespace

void PublicSuffixList::Deleter::operator()(psl_ctx_t* ctx) const { psl_free(ctx); }

PublicSuffixList::PublicSuffixList(psl_ctx_t* ctx, std::string source, bool owned)
    : source_(std::move(source)) {
  if (ctx == nullptr) return;
  if (owned) {
    ctx_ = std::shared_ptr<psl_ctx_t>(ctx, Deleter());
  } else {
    ctx_ = std::shared_ptr<psl_ctx_t>(ctx, [](psl_ctx_t*) {});
  }
}

Result<PublicSuffixList> PublicSuffixList::Load(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return Status(ErrorCode::kNotFound, "public suffix list not found")
        .Where(path)
        .Hint("install the Debian package publicsuffix or give another list");
  }
  psl_ctx_t* ctx = psl_load_file(path.c_str());
  if (ctx == nullptr || psl_suffix_count(ctx) == 0) {
    if (ctx != nullptr) psl_free(ctx);
    return Status(ErrorCode::kInvalidArgument, "cannot load the public suffix list: no rules")
        .Where(path)
        .Hint("the file must be public_suffix_list.dat or its DAFSA form");
  }
  return PublicSuffixList(ctx, path, /*owned=*/true);
}

namespace {

// libpsl's built-in list is compiled from the system list (on Debian the very
// file kSystemPublicSuffixList); while that file is unchanged since libpsl was
// built, the built-in copy holds the same rules and costs nothing to load.
// Otherwise the DAFSA form next to the file loads in a few milliseconds, parsing
// the text form takes tens.
bool BuiltinMatchesSystemList() {
  struct stat st;
  const char* built_from = psl_builtin_filename();
  return psl_builtin() != nullptr && built_from != nullptr &&
         std::string_view(built_from) == kSystemPublicSuffixList &&
         stat(kSystemPublicSuffixList, &st) == 0 && psl_builtin_outdated() == 0;
}

}  // namespace

const PublicSuffixList& PublicSuffixList::Default() {
  static const PublicSuffixList* list = [] {
    if (BuiltinMatchesSystemList()) {
      return new PublicSuffixList(const_cast<psl_ctx_t*>(psl_builtin()),
                                  kSystemPublicSuffixList, false);
    }
    std::string dafsa(kSystemPublicSuffixList);
    dafsa.replace(dafsa.size() - 4, 4, ".dafsa");
    Result<PublicSuffixList> fast = Load(dafsa);
    if (fast.ok() && !IsOlderThan(dafsa, kSystemPublicSuffixList)) {
      return new PublicSuffixList(std::move(fast).value());
    }
    Result<PublicSuffixList> loaded = Load(kSystemPublicSuffixList);
    if (loaded.ok()) return new PublicSuffixList(std::move(loaded).value());
    const psl_ctx_t* builtin = psl_builtin();
    if (builtin != nullptr) {
      // libpsl owns the built-in context; it is never freed.
      return new PublicSuffixList(const_cast<psl_ctx_t*>(builtin), "built-in", false);
    }
    return new PublicSuffixList(nullptr, "none", false);
  }();
  return *list;
}

Result<std::string> PublicSuffixList::RegisteredDomain(std::string_view name) const {
  CK_ASSIGN_OR_RETURN(std::string canonical, CanonicalDnsName(name, /*allow_wildcard=*/true));
  if (IsWildcard(canonical)) canonical.erase(0, 2);
  if (ctx_ != nullptr) {
    // Returns a pointer into `canonical`, or null when the name is itself a
    // public suffix.
    const char* registrable = psl_registrable_domain(ctx_.get(), canonical.c_str());
    if (registrable != nullptr) return std::string(registrable);
  }
  return LastTwoLabels(canonical);
}

Result<std::string> RegisteredDomain(std::string_view name) {
  return PublicSuffixList::Default().RegisteredDomain(name);
}

}  // namespace certkeeper::lifecycle
