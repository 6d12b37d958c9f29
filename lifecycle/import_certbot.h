// certbot's directory (/etc/letsencrypt) read for `import --from certbot`:
//   renewal/NAME.conf                  the lineage's renewal settings (configobj)
//   live/NAME/{cert,chain,fullchain,privkey}.pem  symlinks to the live version
//   archive/NAME/{cert,chain,fullchain,privkey}N.pem  every version N
//   accounts/<server host[:port]>/<server path>/<id>/{private_key.json,regr.json,meta.json}
// What maps to what is in docs/migrate.md.
#ifndef CERTKEEPER_LIFECYCLE_IMPORT_CERTBOT_H_
#define CERTKEEPER_LIFECYCLE_IMPORT_CERTBOT_H_

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "lifecycle/config.h"  // kLetsEncryptProduction, kLetsEncryptStaging
#include "lifecycle/import_plan.h"

namespace certkeeper::lifecycle {

// A renewal conf as configobj writes it: top-level keys, the [renewalparams]
// section and its [[webroot_map]] subsection (domain -> webroot). Values are
// unquoted; a list stays one comma-separated string (see ConfList).
struct RenewalConf {
  std::map<std::string, std::string> top;
  std::map<std::string, std::string> params;
  std::map<std::string, std::string> webroot_map;
};

// Errors name the line. Refuses NUL bytes, duplicate keys, keys that are not
// [A-Za-z0-9_.*-] and lines that are neither comments, sections nor key = value.
Result<RenewalConf> ParseRenewalConf(std::string_view text);

// The items of a configobj list value ("a, b," -> {"a", "b"}), each trimmed
// and unquoted; empty items dropped.
std::vector<std::string> ConfList(std::string_view value);

// An RSA or EC (P-256, P-384) private key as a JSON Web Key (RFC 7517/7518,
// certbot's private_key.json) converted to PKCS#8 PEM.
Result<std::string> JwkToPem(std::string_view jwk_json);

// certbot's accounts/ directory for an ACME directory URL: "host[:port]/path"
// ("acme-v02.api.letsencrypt.org/directory"). Errors for a URL that is not
// https:// (or http://) or whose path has empty, "." or ".." segments.
Result<std::string> CertbotAccountDir(std::string_view server);

// Reads every lineage and account of certbot's directory `dir`. A lineage
// that cannot be read is left out and reported in plan.unmapped (setting
// "certificate"); only an unreadable `dir` itself is an error.
Result<ImportPlan> ScanCertbot(const std::string& dir);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_IMPORT_CERTBOT_H_
