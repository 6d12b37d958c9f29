/* The C ABI of certkeeper DNS provider plugins (docs/dns-plugins.md).
 *
 * A plugin is a shared library that exports one function,
 *
 *   const struct certkeeper_dns_plugin_v1* certkeeper_dns_plugin_v1(void);
 *
 * returning a pointer to a static table that stays valid until the library is
 * unloaded. certkeeper refuses the library unless abi_version equals
 * CERTKEEPER_DNS_PLUGIN_ABI_VERSION and struct_size is at least the size of the
 * table below. A future incompatible ABI gets a new entry point name.
 *
 * Strings are NUL-terminated UTF-8 (in practice ASCII). certkeeper calls one
 * function at a time per handle. On failure a function returns non-zero and
 * writes a NUL-terminated message of at most err_len bytes (including the NUL)
 * into err; err is never NULL and err_len is at least 256.
 */
#ifndef CERTKEEPER_CHALLENGES_CERTKEEPER_DNS_PLUGIN_H_
#define CERTKEEPER_CHALLENGES_CERTKEEPER_DNS_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CERTKEEPER_DNS_PLUGIN_ABI_VERSION 1u
#define CERTKEEPER_DNS_PLUGIN_ENTRY "certkeeper_dns_plugin_v1"

/* One configuration key of [solvers.dns-01] other than provider, library,
 * resolver and propagation_timeout. */
struct certkeeper_dns_plugin_option {
  const char* key;
  const char* value;
};

struct certkeeper_dns_plugin_v1 {
  uint32_t abi_version; /* CERTKEEPER_DNS_PLUGIN_ABI_VERSION */
  uint32_t struct_size; /* sizeof(struct certkeeper_dns_plugin_v1) */
  const char* name;     /* short provider name, e.g. "example" */

  /* Validates the options and returns a handle, or NULL with a message in err
   * (say which key is wrong). The options array is only valid during the call. */
  void* (*create)(const struct certkeeper_dns_plugin_option* options, size_t option_count,
                  char* err, size_t err_len);

  /* Adds a TXT record with exactly `value` at `fqdn` (lower case, trailing
   * dot), keeping other values at that name. 0 on success. */
  int (*present)(void* handle, const char* fqdn, const char* value, char* err, size_t err_len);

  /* Removes exactly that value; removing a value that is not there succeeds. */
  int (*cleanup)(void* handle, const char* fqdn, const char* value, char* err, size_t err_len);

  /* Optional (may be NULL): a cheap reachability check that changes nothing. */
  int (*check)(void* handle, char* err, size_t err_len);

  /* Releases the handle; called once, also after failures. */
  void (*destroy)(void* handle);
};

typedef const struct certkeeper_dns_plugin_v1* (*certkeeper_dns_plugin_v1_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* CERTKEEPER_CHALLENGES_CERTKEEPER_DNS_PLUGIN_H_ */
