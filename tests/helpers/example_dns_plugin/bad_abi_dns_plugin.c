/* A plugin that claims a future ABI version: certkeeper must refuse to load it. */
#include "challenges/certkeeper_dns_plugin.h"

static void* Create(const struct certkeeper_dns_plugin_option* options, size_t count, char* err,
                    size_t err_len) {
  (void)options;
  (void)count;
  (void)err;
  (void)err_len;
  return 0;
}

static const struct certkeeper_dns_plugin_v1 kTable = {
    CERTKEEPER_DNS_PLUGIN_ABI_VERSION + 1, sizeof(struct certkeeper_dns_plugin_v1),
    "bad-abi", Create, 0, 0, 0, 0};

const struct certkeeper_dns_plugin_v1* certkeeper_dns_plugin_v1(void) { return &kTable; }
