// Which ACME directory a command line talks to, by the conventions certbot and
// lego users bring with them: with no CA configured, Let's Encrypt production;
// `--staging` selects Let's Encrypt staging; `--server URL` and the config's
// [acme] server or [[ca]] blocks name any other CA.
#ifndef CERTKEEPER_CLI_CA_CHOICE_H_
#define CERTKEEPER_CLI_CA_CHOICE_H_

#include <string>

#include "base/status.h"
#include "lifecycle/config.h"

namespace certkeeper::cli {

// The command line's say in the choice.
struct CaFlags {
  std::string server;    // --server URL; empty when not given
  bool staging = false;  // --staging
};

// Sets config.acme.server from `flags` and what the config file set:
//   --server URL                      -> URL (replaces [acme] server)
//   --staging                         -> Let's Encrypt staging
//   [[ca]] blocks                     -> unchanged (acme.server stays empty)
//   [acme] server                     -> unchanged
//   nothing                           -> Let's Encrypt production
// Contradictions are kInvalidArgument errors (exit 1) that say which to drop:
// --staging with --server, --staging or --server with [[ca]] blocks, and
// --staging with an [acme] server of the file (certbot refuses that too: the
// run would otherwise silently use one of two CAs).
Status ChooseCa(const CaFlags& flags, lifecycle::Config& config);

}  // namespace certkeeper::cli

#endif  // CERTKEEPER_CLI_CA_CHOICE_H_
