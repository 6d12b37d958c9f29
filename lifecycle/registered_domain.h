// Registered domains (eTLD+1) from the Public Suffix List, the unit CAs count
// certificates per (Let's Encrypt: "certificates per registered domain").
#ifndef CERTKEEPER_LIFECYCLE_REGISTERED_DOMAIN_H_
#define CERTKEEPER_LIFECYCLE_REGISTERED_DOMAIN_H_

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

typedef struct psl_ctx_st psl_ctx_t;

namespace certkeeper::lifecycle {

// The Debian publicsuffix package's copy of the list, preferred over the list
// compiled into libpsl because it is updated with the system.
inline constexpr char kSystemPublicSuffixList[] = "/usr/share/publicsuffix/public_suffix_list.dat";

// A loaded Public Suffix List (ICANN and private sections). Immutable after
// construction; safe to share between threads.
class PublicSuffixList {
 public:
  // Loads the list from a file (the .dat text or libpsl's DAFSA form);
  // kNotFound or kInvalidArgument naming the path when it cannot be loaded.
  static Result<PublicSuffixList> Load(const std::string& path);
  // The rules of kSystemPublicSuffixList when it exists, else the list built
  // into libpsl, else an empty list (every name then falls back to its last two
  // labels). Loaded once per process, on first use. The system list's rules are
  // taken from the cheapest current copy: libpsl's built-in one when libpsl was
  // built from that file and it has not changed since (source() is still the
  // file's path), else its DAFSA form (".dafsa" beside it) when not older, else
  // the text itself.
  static const PublicSuffixList& Default();

  // The registered domain of a DNS name, lower case: "www.example.co.uk" ->
  // "example.co.uk", "foo.github.io" -> "foo.github.io" (github.io is a private
  // suffix). A leading "*." and a trailing dot are ignored. A name that is
  // itself a public suffix ("co.uk") or has no rule yields its last two labels.
  // kInvalidArgument for names that are not DNS names (see CanonicalDnsName).
  Result<std::string> RegisteredDomain(std::string_view name) const;

  // Where the list came from: a path, "built-in" or "none".
  const std::string& source() const { return source_; }

 private:
  struct Deleter {
    void operator()(psl_ctx_t* ctx) const;
  };
  PublicSuffixList(psl_ctx_t* ctx, std::string source, bool owned);

  std::shared_ptr<psl_ctx_t> ctx_;
  std::string source_;
};

// PublicSuffixList::Default().RegisteredDomain(name).
Result<std::string> RegisteredDomain(std::string_view name);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_REGISTERED_DOMAIN_H_
