#include "challenges/http01_solver.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <httplib.h>

#include "base/log.h"

namespace certkeeper::challenges {

namespace {

constexpr std::string_view kChallengePrefix = "/.well-known/acme-challenge/";
// Bounds on how long one client may hold a worker; they also bound how long
// stopping the server waits for workers to finish.
constexpr int kReadTimeoutSeconds = 2;
constexpr int kKeepAliveSeconds = 1;
constexpr auto kStartTimeout = std::chrono::seconds(5);
constexpr auto kStopTimeout = std::chrono::seconds(10);

// Tokens served, shared between the solver and the server's handler threads.
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
  // Shared with the thread, which keeps them alive should it outlive the solver
  // (a stop that timed out detaches it).
  std::shared_ptr<httplib::Server> http = std::make_shared<httplib::Server>();
  std::shared_ptr<TokenTable> tokens = std::make_shared<TokenTable>();
  struct Done {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
  };
  std::shared_ptr<Done> done = std::make_shared<Done>();
  std::thread thread;
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
  httplib::Server& http = *server->http;
  const bool v6_wildcard = address_.ipv6 && address_.IsWildcard();
  // The default options add SO_REUSEPORT, which would let us share a port that
  // another program listens on instead of reporting it as taken.
  http.set_socket_options([v6_wildcard](socket_t fd) {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (v6_wildcard) {
      int no = 0;
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &no, sizeof(no));
    }
  });
  http.set_read_timeout(kReadTimeoutSeconds, 0);
  http.set_write_timeout(kReadTimeoutSeconds, 0);
  http.set_keep_alive_timeout(kKeepAliveSeconds);
  http.set_keep_alive_max_count(10);
  http.set_payload_max_length(64 * 1024);
  http.new_task_queue = [] { return new httplib::ThreadPool(4); };

  // RFC 8555 §8.3: the validation request is a GET; HEAD is answered alike.
  http.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
    if (req.method == "GET" || req.method == "HEAD") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
    return httplib::Server::HandlerResponse::Handled;
  });
  std::shared_ptr<TokenTable> tokens = server->tokens;
  http.Get(R"(/\.well-known/acme-challenge/([^/]+))",
           [tokens](const httplib::Request& req, httplib::Response& res) {
             std::string token = req.matches[1];
             std::lock_guard<std::mutex> lock(tokens->mu);
             auto it = tokens->key_authorizations.find(token);
             if (it == tokens->key_authorizations.end()) {
               res.status = 404;
               return;
             }
             res.status = 200;
             res.set_content(it->second, "text/plain");
           });
  http.Get(".*", [](const httplib::Request&, httplib::Response& res) { res.status = 404; });

  int port = address_.port;
  bool bound = port == 0 ? (port = http.bind_to_any_port(address_.host)) > 0
                         : http.bind_to_port(address_.host, port);
  if (!bound) {
    // Bind once more ourselves to learn why (in use, permission, ...).
    Status why = CheckCanBind(address_, kHttp01);
    if (!why.ok()) return why;
    return Status(ErrorCode::kUnavailable, "http-01: cannot listen on " + address_.ToString())
        .Where(address_.ToString());
  }

  std::shared_ptr<httplib::Server> http_ref = server->http;
  std::shared_ptr<Server::Done> done = server->done;
  server->thread = std::thread([http_ref, done] {
    http_ref->listen_after_bind();
    std::lock_guard<std::mutex> lock(done->mu);
    done->done = true;
    done->cv.notify_all();
  });
  // Wait for the accept loop, so that a failure to start is reported here.
  auto deadline = std::chrono::steady_clock::now() + kStartTimeout;
  while (!http.is_running()) {
    std::unique_lock<std::mutex> lock(done->mu);
    if (done->done || std::chrono::steady_clock::now() > deadline) break;
    done->cv.wait_for(lock, std::chrono::milliseconds(1));
  }
  bound_port_ = port;
  server_ = std::move(server);
  if (!http_ref->is_running()) {
    (void)Stop();
    return Status(ErrorCode::kInternal,
                  "http-01: the server on " + address_.ToString() + " did not start")
        .Where(address_.ToString());
  }
  log::Info("http-01 server listening",
            {{"listen", address_.WithPort(bound_port_).ToString()}});
  return Status::Ok();
}

Status Http01Solver::Stop() {
  if (server_ == nullptr) return Status::Ok();
  std::unique_ptr<Server> server = std::move(server_);
  std::string where = address_.WithPort(bound_port_).ToString();
  bound_port_ = 0;
  // Server::stop acts only once the accept loop runs; until then, wait for it.
  bool finished;
  {
    auto deadline = std::chrono::steady_clock::now() + kStopTimeout;
    bool stop_sent = false;
    std::unique_lock<std::mutex> lock(server->done->mu);
    while (!server->done->done && std::chrono::steady_clock::now() < deadline) {
      if (!stop_sent && server->http->is_running()) {
        server->http->stop();
        stop_sent = true;
      }
      server->done->cv.wait_for(lock, std::chrono::milliseconds(stop_sent ? 100 : 1));
    }
    finished = server->done->done;
  }
  if (!finished) {
    // The thread holds its own references to the server; let it finish alone.
    server->thread.detach();
    return Status(ErrorCode::kDeadlineExceeded,
                  "http-01: the server on " + address_.ToString() +
                      " did not stop within 10s; its port may stay in use")
        .Where(address_.ToString());
  }
  server->thread.join();
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
  return Status::Ok();
}

Status Http01Solver::FetchOwnToken(const ChallengeTask& task) {
  std::vector<std::string> addresses;
  if (options_.resolve) {
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
                          : "http-01 self-check skipped: the name resolves to " +
                                addresses.front() + ", not an address of this host"});
    return Status::Ok();
  }
  std::string url = "http://" + task.identifier + ":" + std::to_string(bound_port_) +
                    ChallengePath(task.token);
  auto started = std::chrono::steady_clock::now();
  httplib::Client client(local, bound_port_);
  auto timeout = std::chrono::duration_cast<std::chrono::microseconds>(
      options_.self_fetch_timeout);
  client.set_connection_timeout(timeout);
  client.set_read_timeout(timeout);
  client.set_write_timeout(timeout);
  client.set_follow_location(false);
  httplib::Headers headers = {{"Host", task.identifier + ":" + std::to_string(bound_port_)}};
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
    error.Where(url + " via " + local).Hint(task.identifier + " resolves to " + local +
                          " on this host, but the request did not reach this "
                          "solver's listener on " + address_.ToString() +
                          ": check the listen address and any proxy on the port");
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
    }
    empty = server_->tokens->key_authorizations.empty();
  }
  if (!empty) return Status::Ok();
  return Stop();
}

}  // namespace certkeeper::challenges
