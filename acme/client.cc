#include "acme/client.h"

#include <algorithm>
#include <utility>

#include "acme/curl_http_client.h"
#include "acme/internal/json_fields.h"
#include "acme/jws.h"
#include "acme/problem.h"
#include "base/log.h"
#include "base/phase_timer.h"

namespace certkeeper::acme {

namespace {

using nlohmann::json;

bool IsSuccess(int status) { return status >= 200 && status < 300; }

}  // namespace

Result<RevocationReason> ParseRevocationReason(std::string_view name) {
  static const std::pair<std::string_view, RevocationReason> kReasons[] = {
      {"unspecified", RevocationReason::kUnspecified},
      {"keyCompromise", RevocationReason::kKeyCompromise},
      {"key-compromise", RevocationReason::kKeyCompromise},
      {"affiliationChanged", RevocationReason::kAffiliationChanged},
      {"affiliation-changed", RevocationReason::kAffiliationChanged},
      {"superseded", RevocationReason::kSuperseded},
      {"cessationOfOperation", RevocationReason::kCessationOfOperation},
      {"cessation-of-operation", RevocationReason::kCessationOfOperation},
      {"privilegeWithdrawn", RevocationReason::kPrivilegeWithdrawn},
      {"privilege-withdrawn", RevocationReason::kPrivilegeWithdrawn},
  };
  for (const auto& [text, reason] : kReasons) {
    if (text == name) return reason;
  }
  return Status(ErrorCode::kInvalidArgument,
                "unknown revocation reason \"" + std::string(name) + "\"")
      .Hint("use one of unspecified, keyCompromise, affiliationChanged, superseded, "
            "cessationOfOperation, privilegeWithdrawn");
}

Status CheckDirectoryUrl(std::string_view url, bool allow_insecure_http) {
  const std::string scheme = UrlScheme(url);
  const std::string_view rest = url.substr(std::min(url.size(), scheme.size() + 3));
  const bool has_host = !scheme.empty() && url.substr(scheme.size(), 3) == "://" &&
                        !rest.empty() && rest.front() != '/';
  if (scheme == "https" && has_host) return Status::Ok();
  if (scheme == "http" && has_host) {
    if (allow_insecure_http) return Status::Ok();
    return Status(ErrorCode::kInvalidArgument,
                  "the ACME directory URL uses plain http://: requests, nonces and "
                  "certificates would travel unprotected (RFC 8555 §6.1 requires HTTPS)")
        .Where(std::string(url))
        .Hint("use the CA's https:// URL; for a test CA only, set acme.allow_insecure_http "
              "= true or pass --allow-insecure-http");
  }
  return Status(ErrorCode::kInvalidArgument, "the ACME directory URL must be an https:// URL")
      .Where(std::string(url))
      .Hint("pass the full directory URL, e.g. https://acme.example/directory");
}

Status CheckRequestTimeout(std::chrono::milliseconds timeout) {
  if (timeout.count() > 0 && timeout <= kMaxRequestTimeout) return Status::Ok();
  return Status(ErrorCode::kInvalidArgument,
                "the ACME request timeout must be more than 0 and at most 10 minutes, not " +
                    std::to_string(timeout.count()) + " ms")
      .Hint("set acme.timeout to a duration like \"30s\"");
}

Client::Client(ClientOptions options, std::shared_ptr<HttpClient> http, std::string scheme)
    : options_(std::move(options)),
      order_poll_first_us_(options_.order_poll_first.count()),
      clock_(options_.clock != nullptr ? options_.clock : RealClock()),
      http_(std::move(http)),
      scheme_(std::move(scheme)) {}

Client::~Client() = default;

Result<std::unique_ptr<Client>> Client::Create(ClientOptions options,
                                               std::shared_ptr<HttpClient> http) {
  CK_RETURN_IF_ERROR(CheckDirectoryUrl(options.directory_url, options.allow_insecure_http));
  CK_RETURN_IF_ERROR(CheckRequestTimeout(options.timeout));
  if (options.connect_timeout.count() <= 0 || options.connect_timeout > kMaxRequestTimeout) {
    return Status(ErrorCode::kInvalidArgument, "invalid ACME client connect timeout");
  }
  std::string scheme = UrlScheme(options.directory_url);
  if (options.max_bad_nonce_retries < 0 || options.poll_initial.count() <= 0 ||
      options.poll_max < options.poll_initial || options.order_poll_floor.count() <= 0 ||
      options.order_poll_first < options.order_poll_floor) {
    return Status(ErrorCode::kInvalidArgument, "invalid ACME client retry/poll options");
  }
  if (!http) {
    CurlOptions curl;
    curl.ca_bundle_file = options.ca_bundle_file;
    curl.connect_timeout = options.connect_timeout;
    curl.total_timeout = options.timeout;
    CK_ASSIGN_OR_RETURN(std::unique_ptr<CurlHttpClient> transport,
                        CurlHttpClient::Create(curl));
    http = std::move(transport);
  }
  return std::unique_ptr<Client>(
      new Client(std::move(options), std::move(http), std::move(scheme)));
}

void Client::SetAccountKey(PrivateKey key, std::string account_url) {
  auto thumbprint = JwkThumbprint(key);
  std::unique_lock lock(account_mu_);
  key_ = std::move(key);
  kid_ = std::move(account_url);
  thumbprint_ = thumbprint.ok() ? *thumbprint : std::string();
}

std::string Client::account_url() const {
  std::shared_lock lock(account_mu_);
  return kid_;
}

std::optional<PrivateKey> Client::account_key() const {
  std::shared_lock lock(account_mu_);
  return key_;
}

Result<std::string> Client::KeyAuthorization(std::string_view token) const {
  CK_RETURN_IF_ERROR(internal::CheckToken(token));
  std::shared_lock lock(account_mu_);
  if (thumbprint_.empty()) {
    return Status(ErrorCode::kFailedPrecondition, "no usable account key is set");
  }
  return acme::KeyAuthorization(token, thumbprint_);
}

Result<HttpResponse> Client::Exchange(RequestKind kind, HttpRequest request) {
  stats_.Count(kind);
  auto start = std::chrono::steady_clock::now();
  Result<HttpResponse> response = http_->Send(request);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (log::Enabled(log::Level::kDebug)) {
    log::Debug("acme request",
               {{"kind", std::string(RequestKindName(kind))},
                {"method", request.method},
                {"url", request.url},
                {"status", response.ok() ? std::to_string(response->status)
                                         : std::string(ErrorCodeName(
                                               response.status().code()))},
                {"ms", std::to_string(ms.count())}});
  }
  if (!response.ok()) return response.status();
  // RFC 8555 §6.5: every response may carry a fresh nonce, errors included.
  if (auto nonce = response->headers.Get("Replay-Nonce")) nonces_.Add(*nonce);
  return response;
}

Result<HttpResponse> Client::Get(RequestKind kind, const std::string& url) {
  HttpRequest request;
  request.method = "GET";
  request.url = url;
  return Exchange(kind, std::move(request));
}

Result<std::string> Client::TakeNonce() {
  if (auto nonce = nonces_.Take()) return *nonce;
  bool seeded = false;
  CK_ASSIGN_OR_RETURN(Directory directory, CurrentDirectory(&seeded));
  // The fetched nonce goes through the shared pool, so with several jobs another
  // request may take it first; and a CA may send one unusable value. Either
  // way another fetch is the answer, a bounded number of times.
  constexpr int kMaxNonceFetches = 3;
  for (int fetch = 0; fetch < kMaxNonceFetches; ++fetch) {
    HttpRequest request;
    request.method = "HEAD";
    request.url = directory.new_nonce;
    CK_ASSIGN_OR_RETURN(HttpResponse response,
                        Exchange(RequestKind::kNewNonce, std::move(request)));
    if (response.status == 404 && seeded) {
      // A kept directory whose newNonce the CA no longer knows: its URLs
      // changed. Once, with a fresh directory.
      CK_ASSIGN_OR_RETURN(directory, RefreshDirectory());
      seeded = false;
      --fetch;
      continue;
    }
    if (!IsSuccess(response.status)) {
      return ErrorResponseStatus("fetch a nonce", directory.new_nonce, response,
                                 clock_->Now());
    }
    if (auto nonce = nonces_.Take()) return *nonce;
  }
  return Status(ErrorCode::kProtocol,
                "newNonce responses carry no valid Replay-Nonce (" +
                    std::to_string(kMaxNonceFetches) + " tries)")
      .Where(directory.new_nonce);
}

Result<HttpResponse> Client::Post(RequestKind kind, const std::string& url,
                                  std::string_view payload, const PostOptions& options) {
  CK_RETURN_IF_ERROR(internal::CheckUrl(url, scheme_, RequestKindName(kind)));
  std::string operation = "POST " + std::string(RequestKindName(kind));
  for (int attempt = 0;; ++attempt) {
    CK_ASSIGN_OR_RETURN(std::string nonce, TakeNonce());
    JwsHeader header{.url = url, .nonce = std::move(nonce), .kid = {}};
    std::optional<PrivateKey> key;
    if (options.jwk_key != nullptr) {
      key = *options.jwk_key;
    } else {
      std::shared_lock lock(account_mu_);
      key = key_;
      header.kid = kid_;
    }
    if (!key) {
      return Status(ErrorCode::kFailedPrecondition, operation + ": no account key is set")
          .Where(url);
    }
    if (options.jwk_key == nullptr && header.kid.empty()) {
      return Status(ErrorCode::kFailedPrecondition,
                    operation + ": the account URL is unknown")
          .Where(url)
          .Hint("register the account (or look it up) before this request");
    }
    CK_ASSIGN_OR_RETURN(json jws, SignJws(*key, header, payload));

    HttpRequest request;
    request.method = "POST";
    request.url = url;
    request.headers.Add("Content-Type", "application/jose+json");
    if (!options.accept.empty()) request.headers.Add("Accept", options.accept);
    request.body = jws.dump();
    request.max_response_bytes = options.max_response_bytes;
    CK_ASSIGN_OR_RETURN(HttpResponse response, Exchange(kind, std::move(request)));
    if (options.http_status != nullptr) *options.http_status = response.status;
    if (IsSuccess(response.status)) return response;

    Status error = ErrorResponseStatus(operation, url, response, clock_->Now());
    // RFC 8555 §6.5: badNonce is retryable with the nonce from the error
    // response, which Exchange already put into the pool.
    if (error.problem() != nullptr && error.problem()->Is("badNonce") &&
        attempt < options_.max_bad_nonce_retries) {
      continue;
    }
    return error;
  }
}

Result<json> Client::PostJson(RequestKind kind, const std::string& url,
                              std::string_view payload, HttpResponse* response_out) {
  CK_ASSIGN_OR_RETURN(HttpResponse response, Post(kind, url, payload));
  CK_ASSIGN_OR_RETURN(json doc, internal::ParseJsonBody(response, url));
  if (response_out != nullptr) *response_out = std::move(response);
  return doc;
}

Result<json> Client::Poll(RequestKind kind, const std::string& url, TimePoint deadline,
                          const PollStart& start,
                          const std::function<Result<bool>(const json&)>& is_final,
                          std::string* last_status) {
  const bool authorization = kind == RequestKind::kPollAuthorization;
  const Duration max_delay = options_.poll_max;
  Duration delay = options_.poll_initial;
  // The wait after the first poll: the schedule's own (2 * poll_initial) after
  // its own first wait, otherwise as long as the first wait took (at least
  // poll_initial), as if it had been the schedule's.
  Duration after_first = std::min<Duration>(delay * 2, max_delay);
  std::function<void(bool)> learn;  // start.after_first_look, for the first look only
  auto since_first_wait = [&](TimePoint began) {
    return std::clamp<Duration>(clock_->Now() - began, options_.poll_initial, max_delay);
  };
  for (int polls = 0;; ++polls) {
    TimePoint now = clock_->Now();
    if (now >= deadline) {
      return Status(ErrorCode::kDeadlineExceeded,
                    std::string(RequestKindName(kind)) + ": still \"" + *last_status +
                        "\" at the deadline")
          .Where(url);
    }
    {
      phase::ScopedPhase waiting(authorization ? "(poll wait: authorization)"
                                               : "(poll wait: order)");
      if (polls > 0) {
        clock_->SleepFor(std::min<Duration>(delay, deadline - now));
      } else if (start.retry_at) {
        if (*start.retry_at > now) {
          clock_->SleepFor(std::min<Duration>(*start.retry_at - now, deadline - now));
        }
        after_first = since_first_wait(now);
      } else if (start.wait && start.wait(deadline)) {
        after_first = since_first_wait(now);
      } else if (start.first_delay) {
        clock_->SleepFor(std::min<Duration>(
            std::chrono::duration_cast<Duration>(*start.first_delay), deadline - now));
        after_first = since_first_wait(now);
        learn = start.after_first_look;
      } else {
        clock_->SleepFor(std::min<Duration>(delay, deadline - now));
      }
    }
    HttpResponse response;
    CK_ASSIGN_OR_RETURN(json doc, PostJson(kind, url, "", &response));
    CK_ASSIGN_OR_RETURN(bool done, is_final(doc));
    if (learn) std::exchange(learn, nullptr)(done);
    if (done) return doc;

    delay = polls == 0 ? after_first : std::min<Duration>(delay * 2, max_delay);
    // RFC 8555 §7.5.1 / §7.4: the server may say when to look again.
    if (auto header = response.headers.Get("Retry-After")) {
      TimePoint at_now = clock_->Now();
      if (auto retry_at = ParseRetryAfter(*header, at_now); retry_at && *retry_at > at_now) {
        delay = *retry_at - at_now;
      }
    }
  }
}

}  // namespace certkeeper::acme
