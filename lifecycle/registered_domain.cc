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

const PublicSuffixList& PublicSuffixList::Default() {
  static const PublicSuffixList* list = [] {
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
