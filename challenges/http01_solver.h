// HTTP-01 (RFC 8555 §8.3) answered by a small HTTP server of our own: for the
// standalone case where nothing else serves port 80 on this host.
#ifndef CERTKEEPER_CHALLENGES_HTTP01_SOLVER_H_
#define CERTKEEPER_CHALLENGES_HTTP01_SOLVER_H_

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "challenges/self_check.h"
#include "challenges/solver.h"

namespace certkeeper::challenges {

struct Http01Options {
  // "host:port", "[ipv6]:port" or ":port" (see ParseListenAddress).
  std::string listen = ":80";
  // Bound on the self-fetch after Present (connect and read, each).
  std::chrono::milliseconds self_fetch_timeout{2000};
  // How long the self-fetch waits for an identifier to resolve. A resolver that
  // has no quick answer (glibc waits 5 s per unanswered query) must not stall the
  // issuance: the check is then skipped with a note, as for a name that does not
  // resolve. Ignored when `resolve` is set.
  std::chrono::milliseconds resolve_budget{200};
  // Resolves an identifier to numeric addresses for the self-fetch; empty means
  // ResolveAddresses (getaddrinfo), bounded by resolve_budget. A seam for tests.
  std::function<std::vector<std::string>(const std::string&)> resolve;
  // Bounds on clients (see Http01ServerLimits): connections at once (the oldest
  // unfinished one is closed for a new one), and the time from accept to the
  // end of the response.
  size_t max_connections = 512;
  std::chrono::milliseconds request_timeout{10000};
};

// Serves exactly GET (and HEAD) /.well-known/acme-challenge/<token> for the
// tokens of the tasks presented, with the key authorization as a text/plain body.
// Unknown tokens and other paths get 404, other methods 405. Any host can reach
// the listener during validation, so it reads at most 8 KiB of request head per
// connection and never a body, answers one request per connection, closes each
// connection at request_timeout and holds at most max_connections (see
// challenges/http01_server.h).
//
// The listener runs on its own thread from the first Present until CleanUp has
// removed the last token (or the solver is destroyed); Present may be called
// again while it runs to add tokens. Stopping closes the listening socket, so the
// port is free again when CleanUp returns.
//
// Self-checks: SelfCheck binds and releases the listen address. Present fetches
// every token back from http://<identifier>:<port>/... when the identifier
// resolves to an address of this host (connecting to that address, with the
// identifier as Host), and fails when the answer is wrong; for other identifiers,
// and for those that do not resolve within resolve_budget, it records a note
// that the check was skipped.
class Http01Solver : public Solver {
 public:
  static Result<std::unique_ptr<Http01Solver>> Create(const Http01Options& options);
  ~Http01Solver() override;
  Http01Solver(const Http01Solver&) = delete;
  Http01Solver& operator=(const Http01Solver&) = delete;

  std::string_view type() const override { return kHttp01; }
  Status SelfCheck(const std::vector<ChallengeTask>& tasks) override;
  Status Present(const std::vector<ChallengeTask>& tasks) override;
  Status CleanUp(const std::vector<ChallengeTask>& tasks) override;
  std::vector<SolverNote> TakeNotes() override;
  // Counts the requests answered with a task's key authorization since Present.
  std::optional<ServedWaitResult> AwaitServed(const ChallengeTask& task,
                                              const ServedWaitOptions& options) override;

  const ListenAddress& listen_address() const { return address_; }
  // The port the listener is bound to (useful with port 0); 0 when stopped.
  int bound_port() const { return bound_port_; }
  bool listening() const;

 private:
  struct Server;  // the HTTP server and the tokens it serves
  Http01Solver(const Http01Options& options, ListenAddress address);
  Status Start();
  Status Stop();
  Status FetchOwnToken(const ChallengeTask& task);

  Http01Options options_;
  ListenAddress address_;
  std::unique_ptr<Server> server_;
  // Shared with the server's thread, which counts each answered token.
  std::shared_ptr<ServedSignal> served_ = std::make_shared<ServedSignal>();
  int bound_port_ = 0;
  std::vector<SolverNote> notes_;
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_HTTP01_SOLVER_H_
