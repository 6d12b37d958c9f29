#include "challenges/http01_solver.h"

#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <httplib.h>

#include "base/log.h"
#include "challenges/http01_server.h"

namespace certkeeper::challenges {

namespace {

constexpr std::string_view kChallengePrefix = "/.well-known/acme-challenge/";
// Tokens served, shared between the solver and the server's thread.
struct TokenTable {
  std::mutex mu;
  std::map<std::string, std::string> key_authorizations;  // token -> key auth
};

std::string ChallengePath(const std::string& token) {
  return std::string(kChallengePrefix) + token;
}

// Resolves name on a helper thread and waits at most `budget`; nullopt when the
// answer did not come in time. A late answer is dropped by the thread, which
// owns what it shares with the caller.
std::optional<std::vector<std::string>> ResolveWithin(const std::string& name,
                                                      std::chrono::milliseconds budget) {
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    std::vector<std::string> addresses;
  };
  auto shared = std::make_shared<Shared>();
  std::thread([shared, name] {
    std::vector<std::string> addresses = ResolveAddresses(name);
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->addresses = std::move(addresses);
    shared->done = true;
    shared->cv.notify_all();
  }).detach();
  std::unique_lock<std::mutex> lock(shared->mu);
  if (!shared->cv.wait_for(lock, budget, [&] { return shared->done; })) return std::nullopt;
  return std::move(shared->addresses);
}

}  // namespace

struct Http01Solver::Server {
  std::shared_ptr<TokenTable> tokens = std::make_shared<TokenTable>();
  std::unique_ptr<Http01Server> http;
};

Result<std::unique_ptr<Http01Solver>> Http01Solver::Create(const Http01Options& options) {
  Result<ListenAddress> address = ParseListenAddress(options.listen);
  if (!address.ok()) return address.status().Annotate("http-01");
  return std::unique_ptr<Http01Solver>(new Http01Solver(options, *address));
}

Http01Solver::Http01Solver(const Http01Options& options, ListenAddress address)
    : options_(options), address_(std::move(address)) {}

Http01Solver::~Http01Solver() {
  Status s = Stop();
  if (!s.ok()) log::Warn("http-01: " + s.ToString());
}

bool Http01Solver::listening() const { return server_ != nullptr; }

std::vector<SolverNote> Http01Solver::TakeNotes() { return std::exchange(notes_, {}); }

Status Http01Solver::SelfCheck(const std::vector<ChallengeTask>& tasks) {
  for (const ChallengeTask& task : tasks) CK_RETURN_IF_ERROR(ValidateTask(task, kHttp01));
  // Our own listener already holds the port; it can serve more tokens.
  if (server_ != nullptr) return Status::Ok();
  CK_RETURN_IF_ERROR(CheckCanBind(address_, kHttp01));
  notes_.push_back({"", "http-01: " + address_.ToString() + " can be bound"});
  return Status::Ok();
}

Status Http01Solver::Start() {
  auto server = std::make_unique<Server>();
  CK_ASSIGN_OR_RETURN(int fd, BindListener(address_, kHttp01));
  Result<int> port = BoundPort(fd);
  if (!port.ok()) {
    close(fd);
    Status error = port.status();
    return std::move(error.Annotate("http-01").Where(address_.ToString()));
  }
  std::shared_ptr<TokenTable> tokens = server->tokens;
  TokenLookup lookup = [tokens, served = served_](
                           std::string_view token) -> std::optional<std::string> {
    std::optional<std::string> key_authorization;
    {
      std::lock_guard<std::mutex> lock(tokens->mu);
      auto it = tokens->key_authorizations.find(std::string(token));
      if (it == tokens->key_authorizations.end()) return std::nullopt;
      key_authorization = it->second;
    }
    served->Served(token);
    return key_authorization;
  };
  Http01ServerLimits limits;
  limits.max_connections = options_.max_connections;
  limits.request_timeout = options_.request_timeout;
  Result<std::unique_ptr<Http01Server>> http = Http01Server::Start(fd, std::move(lookup), limits);
  if (!http.ok()) return http.status().Where(address_.ToString());
  server->http = std::move(*http);
  bound_port_ = *port;
  server_ = std::move(server);
  log::Info("http-01 server listening",
            {{"listen", address_.WithPort(bound_port_).ToString()}});
  return Status::Ok();
}

Status Http01Solver::Stop() {
  if (server_ == nullptr) return Status::Ok();
  std::string where = address_.WithPort(bound_port_).ToString();
  // The server's thread ends within one poll round and closes every socket.
  server_.reset();
  bound_port_ = 0;
  log::Info("http-01 server stopped", {{"listen", where}});
  return Status::Ok();
}

Status Http01Solver::Present(const std::vector<ChallengeTask>& tasks) {
  for (const ChallengeTask& task : tasks) CK_RETURN_IF_ERROR(ValidateTask(task, kHttp01));
  if (server_ == nullptr) CK_RETURN_IF_ERROR(Start());
  {
    std::lock_guard<std::mutex> lock(server_->tokens->mu);
    for (const ChallengeTask& task : tasks) {
      server_->tokens->key_authorizations[task.token] = task.key_authorization;
    }
  }
  for (const ChallengeTask& task : tasks) CK_RETURN_IF_ERROR(FetchOwnToken(task));
  // From here on only the CA asks.
  for (const ChallengeTask& task : tasks) served_->Reset(task.token);
  return Status::Ok();
}

std::optional<ServedWaitResult> Http01Solver::AwaitServed(const ChallengeTask& task,
                                                          const ServedWaitOptions& options) {
  if (server_ == nullptr) return std::nullopt;
  return served_->Await(task.token, options);
}

Status Http01Solver::FetchOwnToken(const ChallengeTask& task) {
  std::vector<std::string> addresses;
  if (IsIpIdentifier(task.identifier)) {
    // RFC 8738 §4: no resolution; the CA connects to the address itself.
    addresses = {task.identifier};
  } else if (options_.resolve) {
    addresses = options_.resolve(task.identifier);
  } else {
    auto resolved = ResolveWithin(task.identifier, options_.resolve_budget);
    if (!resolved) {
      notes_.push_back({task.identifier,
                        "http-01 self-check skipped: the name did not resolve within " +
                            std::to_string(options_.resolve_budget.count()) + "ms"});
      return Status::Ok();
    }
    addresses = std::move(*resolved);
  }
  std::string local;
  for (const std::string& a : addresses) {
    if (IsLocalAddress(a)) {
      local = a;
      break;
    }
  }
  if (local.empty()) {
    notes_.push_back({task.identifier,
                      addresses.empty()
                          ? "http-01 self-check skipped: the name does not resolve here"
                      : IsIpIdentifier(task.identifier)
                          ? "http-01 self-check skipped: " + task.identifier +
                                " is not an address of this host"
                          : "http-01 self-check skipped: the name resolves to " +
                                addresses.front() + ", not an address of this host"});
    return Status::Ok();
  }
  // RFC 8738 §5 (RFC 3986 §3.2.2): an IPv6 address goes in brackets in the
  // URL and the Host header.
  const std::string authority = UrlHost(task.identifier) + ":" + std::to_string(bound_port_);
  std::string url = "http://" + authority + ChallengePath(task.token);
  auto started = std::chrono::steady_clock::now();
  httplib::Client client(local, bound_port_);
  auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(
      options_.self_fetch_timeout);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  client.set_follow_location(false);
  httplib::Headers headers = {{"Host", authority}};
  httplib::Result res = client.Get(ChallengePath(task.token), headers);
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  Status error;
  if (!res) {
    error = Status(ErrorCode::kUnavailable,
                   "http-01 self-check: cannot fetch the token: " +
                       httplib::to_string(res.error()));
  } else if (res->status != 200) {
    error = Status(ErrorCode::kFailedPrecondition,
                   "http-01 self-check: the token URL answered HTTP " +
                       std::to_string(res->status));
  } else if (res->body != task.key_authorization) {
    error = Status(ErrorCode::kFailedPrecondition,
                   "http-01 self-check: the token URL answered a different body");
  }
  if (!error.ok()) {
    std::string reached = IsIpIdentifier(task.identifier)
                              ? task.identifier + " is an address of this host"
                              : task.identifier + " resolves to " + local + " on this host";
    error.Where(url + " via " + local)
        .Hint(reached + ", but the request did not reach this solver's listener on " +
              address_.ToString() + ": check the listen address and any proxy on the port");
    notes_.push_back({task.identifier, error.ToString()});
    return error;
  }
  notes_.push_back({task.identifier, "http-01 self-check: " + url + " answered the key "
                                     "authorization in " +
                                         std::to_string(elapsed.count()) + "ms"});
  return Status::Ok();
}

Status Http01Solver::CleanUp(const std::vector<ChallengeTask>& tasks) {
  if (server_ == nullptr) return Status::Ok();
  bool empty;
  {
    std::lock_guard<std::mutex> lock(server_->tokens->mu);
    for (const ChallengeTask& task : tasks) {
      server_->tokens->key_authorizations.erase(task.token);
      served_->Forget(task.token);
    }
    empty = server_->tokens->key_authorizations.empty();
  }
  if (!empty) return Status::Ok();
  return Stop();
}

}  // namespace certkeeper::challenges
