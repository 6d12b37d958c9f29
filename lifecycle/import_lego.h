// lego's directory (--path, ~/.lego) read for `import --from lego`:
//   accounts/<server host>_<port>/<email>/account.json   {email, registration.uri}
//   accounts/<server host>_<port>/<email>/keys/<email>.key   the account key (PEM)
//   certificates/<domain>.{crt,key,issuer.crt,json}   the current version only
// lego records neither the directory URL's path nor any renewal setting: the
// directory URL comes from the account folder for Let's Encrypt, else from
// `server` (the --server given to certkeeper); the challenge settings are
// reported as unmapped (docs/migrate.md).
#ifndef CERTKEEPER_LIFECYCLE_IMPORT_LEGO_H_
#define CERTKEEPER_LIFECYCLE_IMPORT_LEGO_H_

#include <string>
#include <string_view>

#include "base/status.h"
#include "lifecycle/import_plan.h"

namespace certkeeper::lifecycle {

// lego's account folder name for a directory URL: host, '_', port
// ("acme-v02.api.letsencrypt.org", "127.0.0.1_14000"), as lego's
// accounts storage names it. Empty for a URL it cannot parse.
std::string LegoAccountFolder(std::string_view server);

// An account.json as lego writes it: the account URL and email. Errors name
// what is missing.
struct LegoAccount {
  std::string email;
  std::string uri;
};
Result<LegoAccount> ParseLegoAccount(std::string_view json);

// Reads every account and certificate of lego's directory `dir`. `server` is
// the ACME directory URL the certificates were issued by when the account
// folder does not tell (any CA but Let's Encrypt); may be empty.
Result<ImportPlan> ScanLego(const std::string& dir, const std::string& server);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_IMPORT_LEGO_H_
