// The versions a bug report needs: certkeeper's own and those of the libraries
// it runs with (loaded at run time, so a security update of OpenSSL shows here
// without a rebuild). Each layer reports its own library; this gathers them.
#ifndef CERTKEEPER_LIFECYCLE_VERSIONS_H_
#define CERTKEEPER_LIFECYCLE_VERSIONS_H_

#include <string>

namespace certkeeper::lifecycle {

struct Versions {
  std::string certkeeper;  // CERTKEEPER_VERSION, e.g. "0.1.0"
  std::string openssl;     // e.g. "3.0.11"
  std::string curl;        // e.g. "7.88.1"
  std::string sqlite;      // e.g. "3.40.1"
};

Versions RuntimeVersions();

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_VERSIONS_H_
