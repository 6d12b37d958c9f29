#include "lifecycle/versions.h"

#include "acme/curl_version.h"
#include "base/openssl_version.h"
#include "store/sqlite_version.h"

namespace certkeeper::lifecycle {

Versions RuntimeVersions() {
  return Versions{CERTKEEPER_VERSION, OpenSslVersion(), acme::CurlVersion(),
                  store::SqliteVersion()};
}

}  // namespace certkeeper::lifecycle
