// How `certkeeper serve` is set up from [serve] and its options: where it
// listens, whether (and with which bearer token) requests must authenticate,
// and how often it renews and probes. Checked before anything is bound.
#ifndef CERTKEEPER_CLI_SERVE_SETUP_H_
#define CERTKEEPER_CLI_SERVE_SETUP_H_

#include <optional>
#include <string>

#include "base/clock.h"
#include "base/status.h"
#include "challenges/self_check.h"
#include "cli/commands.h"
#include "lifecycle/config.h"

namespace certkeeper::cli {

struct ServeSetup {
  challenges::ListenAddress listen;
  bool loopback = true;  // only this host can connect
  std::string token;     // empty: no authentication (loopback without token_file)
  std::optional<Duration> renew_every;
  std::optional<Duration> probe_every;
};

// True for 127.0.0.0/8 and ::1; a wildcard address is not loopback.
bool IsLoopback(const challenges::ListenAddress& address);

// The token in `path`: the file MUST NOT be readable or writable by group or
// others (kPermissionDenied naming the mode) and MUST hold one token of 16 to
// 4096 visible ASCII characters (a final newline is ignored).
Result<std::string> ReadBearerToken(const std::string& path);

// --listen over [serve] listen, --renew-every/--probe-every over [serve]
// (durations as in the config: "12h", "5m"; at least 10 s). An address other
// than loopback without [serve] token_file is a configuration error
// (kInvalidArgument); with token_file the token is read (also on loopback).
Result<ServeSetup> ResolveServeSetup(const lifecycle::ServeSettings& settings,
                                     const CommandValues& values);

}  // namespace certkeeper::cli

#endif  // CERTKEEPER_CLI_SERVE_SETUP_H_
