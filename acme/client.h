// certkeeper::acme::Client: the RFC 8555 client façade. One Client talks to one
// ACME server on behalf of one account; it is thread-safe, so concurrent orders
// on the same account share its directory, nonce pool and connections.
//
// Every signed request goes through one function that (RFC 8555 §6.5) retries
// badNonce with the nonce from the error response a bounded number of times and
// turns any other error response into a Status: kRateLimited (rateLimited or
// HTTP 429) and kUnavailable (5xx) are NOT retried here; the caller records the
// Retry-After (Status::retry_after) and decides.
#ifndef CERTKEEPER_ACME_CLIENT_H_
#define CERTKEEPER_ACME_CLIENT_H_

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "acme/http.h"
#include "acme/nonce_pool.h"
#include "acme/request_stats.h"
#include "acme/resources.h"
#include "base/clock.h"
#include "base/crypto.h"
#include "base/status.h"

namespace certkeeper::acme {

struct ClientOptions {
  std::string directory_url{};  // the server; every resource URL must share its scheme
  std::string ca_bundle_file{};  // extra trust anchors for the server's TLS (optional)
  Clock* clock = nullptr;      // time and sleeping; null: RealClock()
  std::chrono::milliseconds timeout{30000};          // per HTTP request
  std::chrono::milliseconds connect_timeout{10000};
  int max_bad_nonce_retries = 10;
  // Adaptive polling: first re-check after poll_initial, doubling up to poll_max.
  std::chrono::milliseconds poll_initial{2};
  std::chrono::milliseconds poll_max{1000};
  // The first re-check of an order after finalize when the server gave no
  // Retry-After; then poll_initial, doubling. Measured against Pebble
  // (bench/README.md): in one process a first look after 0.5 to 2 ms found
  // the order valid in each of 49 issuances; in fresh processes on a loaded
  // machine 1 ms was too early (one more request) in 5 of 100, 2 ms in 3 of
  // 80.
  std::chrono::microseconds order_poll_first{2000};
  // A client that issues more than once learns from its first looks: after
  // one that found the order decided, the next comes after half the wait,
  // down to order_poll_floor; after one that came too early, at twice it,
  // and it is not lowered again (OrderPollStart).
  std::chrono::microseconds order_poll_floor{500};
  // Plain http:// directory URLs are refused unless this is set: only for a
  // test CA on a trusted network (RFC 8555 §6.1 requires HTTPS).
  bool allow_insecure_http = false;
  // The directory kept between runs: the raw JSON body of an earlier fetch
  // (empty: none). It is parsed instead of sending a GET; one that does not
  // parse is ignored and the directory fetched. A request to a URL taken from
  // it that gets HTTP 404 (the CA changed its URLs) makes the client fetch the
  // directory afresh and send that request once more, to the new URL.
  std::string directory_document{};
  // Called after every successful directory fetch (not for a kept document)
  // with the raw body, to be kept for the next run. It runs on the thread that
  // fetched, with no lock of the client held.
  std::function<void(const std::string& document)> directory_fetched{};
};

// The longest per-request timeout accepted: a request that needs longer is a
// CA that is down, and a larger value (or zero, which libcurl reads as "no
// timeout") would let one hung connection stall a whole `renew --all`.
inline constexpr std::chrono::milliseconds kMaxRequestTimeout = std::chrono::minutes(10);

// kInvalidArgument naming the URL unless `url` is an absolute https:// URL with
// a host, or an http:// one and `allow_insecure_http` is set.
Status CheckDirectoryUrl(std::string_view url, bool allow_insecure_http);
// kInvalidArgument unless 0 < timeout <= kMaxRequestTimeout.
Status CheckRequestTimeout(std::chrono::milliseconds timeout);

// How the first re-check of a poll is timed (the later ones follow
// ClientOptions' schedule and the server's Retry-After).
struct PollStart {
  // When set, replaces the first wait: returns when the resource is likely to
  // have left its transient state (the solver saw the CA's validation
  // requests), or false at once when it has nothing to wait on (then the
  // schedule's own first wait follows). Bounded by the caller; it receives
  // the poll's deadline. After it, the schedule continues from a delay as
  // long as the wait took (at least poll_initial), as if it had been the
  // schedule's own.
  std::function<bool(TimePoint deadline)> wait{};
  // Otherwise the first wait, when set (else poll_initial).
  std::optional<std::chrono::microseconds> first_delay{};
  // Told, after a first wait of first_delay, whether the first re-check
  // found the resource decided (true) or came too early.
  std::function<void(bool decided)> after_first_look{};
  // The time the response that started the wait asked to be left alone until
  // (its Retry-After); it overrides both of the above.
  std::optional<TimePoint> retry_at{};
};

struct NewAccountRequest {
  std::vector<std::string> contact{};  // "mailto:ops@example.com"
  bool terms_of_service_agreed = false;
  bool only_return_existing = false;  // RFC 8555 §7.3.1: look up, do not create
  // RFC 8555 §7.3.4: binds the new account to an account the CA knows from
  // elsewhere. The CA hands out both values.
  struct ExternalAccountBinding {
    std::string kid{};
    std::string mac_key{};      // raw bytes (DecodeEabMacKey of the file)
    std::string alg = "HS256";  // HS256, HS384 or HS512
  };
  std::optional<ExternalAccountBinding> external_account_binding{};
};

// The MAC key of an eab_hmac_file: base64url (RFC 4648 §5), with surrounding
// whitespace and padding tolerated. Anything else (standard base64, inner
// whitespace, an empty file) is refused with kInvalidArgument saying why.
Result<std::string> DecodeEabMacKey(std::string_view file_text);

struct NewOrderRequest {
  // DNS names ("*.example.com" allowed) and IP addresses (RFC 8738), each
  // canonicalized by CanonicalIdentifier and sent as type "dns" or "ip".
  std::vector<std::string> identifiers{};
  std::string replaces{};  // ARI certificate identifier (RFC 9773 §5), optional
  std::string profile{};   // a name from Directory::meta.profiles, optional
};

// RFC 5280 §5.3.1 CRLReason codes allowed in RFC 8555 §7.6.
enum class RevocationReason {
  kUnspecified = 0,
  kKeyCompromise = 1,
  kAffiliationChanged = 3,
  kSuperseded = 4,
  kCessationOfOperation = 5,
  kPrivilegeWithdrawn = 9,
};
// "unspecified", "keyCompromise" (or "key-compromise"), "affiliationChanged",
// "superseded", "cessationOfOperation", "privilegeWithdrawn".
Result<RevocationReason> ParseRevocationReason(std::string_view name);

// RFC 9773 §4.1: base64url(AKI keyIdentifier) "." base64url(serial DER octets).
// kInvalidArgument when the certificate has no authority key identifier.
Result<std::string> AriCertificateId(std::string_view cert_pem);

class Client {
 public:
  // No network traffic happens here; the directory is fetched on first use.
  // `http` null: a CurlHttpClient built from the options (ca_bundle_file,
  // timeouts); a given `http` is used as is and those options are ignored.
  static Result<std::unique_ptr<Client>> Create(ClientOptions options,
                                                std::shared_ptr<HttpClient> http = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // The account key and, when known, its URL (kid). Must be called before any
  // account-bound operation; an empty URL means NewAccount has to run first.
  void SetAccountKey(PrivateKey key, std::string account_url);
  std::string account_url() const;
  // The current account key (changes after RolloverKey).
  std::optional<PrivateKey> account_key() const;

  // The directory, fetched once and cached (RFC 8555 §7.1.1), or parsed from
  // ClientOptions::directory_document.
  Result<Directory> GetDirectory();

  // token "." thumbprint of the account key (RFC 8555 §8.1).
  Result<std::string> KeyAuthorization(std::string_view token) const;

  // Accounts (RFC 8555 §7.3). NewAccount records the account URL (Location)
  // as the kid for later requests. With external_account_binding, the
  // payload carries the §7.3.4 binding for the newAccount URL. Errors:
  // kFailedPrecondition "the CA at <url> requires external account binding"
  // when the directory says meta.externalAccountRequired and no binding is
  // given (no request is sent); when the CA refuses a given binding
  // (unauthorized, malformed or externalAccountRequired), kPermissionDenied
  // saying so, with the problem kept.
  Result<Account> NewAccount(const NewAccountRequest& request);
  Result<Account> GetAccount();
  Result<Account> DeactivateAccount();  // §7.3.6; the account is unusable after
  // §7.3.5: inner JWS signed with new_key, outer with the current key. On
  // success the client signs with new_key from then on. An error whose
  // problem() has a 4xx status is a definite refusal, and so is
  // kFailedPrecondition (no request was sent, e.g. the directory has no
  // keyChange, or the CA answered that it does not support the operation);
  // any other error (no answer, 5xx, a malformed answer) leaves it unknown
  // whether the CA switched.
  Status RolloverKey(const PrivateKey& new_key);
  // §7.3.1: which account `key` is bound to, asked with a newAccount request
  // {"onlyReturnExisting": true} signed by that key. Returns the account URL,
  // or kNotFound when the CA answers accountDoesNotExist. Changes neither the
  // client's key nor its account URL.
  Result<std::string> FindAccountUrl(const PrivateKey& key);

  // Orders (RFC 8555 §7.4). Identifiers are validated and canonicalized.
  Result<Order> NewOrder(const NewOrderRequest& request);
  Result<Order> GetOrder(const std::string& url);
  Result<Authorization> GetAuthorization(const std::string& url);
  Result<Authorization> DeactivateAuthorization(const std::string& url);  // §7.5.2
  // Tells the server to validate (POST {}, §7.5.1).
  Result<Challenge> RespondToChallenge(const std::string& url);

  // Poll until the resource leaves its transient state, or until `deadline`
  // (a hard bound: kDeadlineExceeded naming the last status). The first
  // re-check is timed by `start` (by default after poll_initial), then the
  // wait doubles up to poll_max; a Retry-After from the server replaces the
  // computed wait (capped by the deadline). A final state is returned as a
  // value, also when it is invalid: the caller reads Order::error or
  // Challenge::error.
  //   authorization: stops on anything but "pending".
  //   order: stops on anything but "pending" and "processing".
  Result<Authorization> PollAuthorization(const std::string& url, TimePoint deadline,
                                          const PollStart& start = {});
  Result<Order> PollOrder(const std::string& url, TimePoint deadline,
                          const PollStart& start = {});
  // The PollStart for an order the server just answered "processing" (after
  // finalize): its Retry-After, else the first wait learned so far (from
  // order_poll_first, see order_poll_floor).
  PollStart OrderPollStart(const Order& answered);

  // §7.4: submits the CSR (DER); returns the order as the server answered
  // (usually "processing" or "valid"; poll with PollOrder).
  Result<Order> Finalize(const Order& order, std::string_view csr_der);

  // §7.4.2: the chain as application/pem-certificate-chain; with
  // `with_alternates` also every Link rel="alternate" chain.
  Result<CertificateChains> DownloadCertificate(const std::string& url,
                                                bool with_alternates);

  // §7.6. cert_key null: signed with the account key (kid); otherwise signed
  // with the certificate's own key, embedded as jwk.
  Status RevokeCertificate(std::string_view cert_pem, RevocationReason reason,
                           const PrivateKey* cert_key = nullptr);

  // RFC 9773 §4.2: unauthenticated GET of the renewal window.
  // kFailedPrecondition when the directory has no renewalInfo.
  Result<RenewalInfo> GetRenewalInfo(std::string_view cert_pem);
  // The same at a renewalInfo URL the caller took from this CA's directory
  // earlier (no directory request); it must use the directory's scheme.
  Result<RenewalInfo> GetRenewalInfo(std::string_view renewal_info_url,
                                     std::string_view cert_pem);

  const RequestStats& stats() const { return stats_; }
  RequestStats& mutable_stats() { return stats_; }

 private:
  struct PostOptions {
    const PrivateKey* jwk_key = nullptr;  // sign with this key, embed its jwk
    std::string accept;
    size_t max_response_bytes = 1 << 20;
    int* http_status = nullptr;  // set to the last response's status, if any
  };
  // Builds a request's payload for the directory at hand: a retry after a
  // refetch may go to another URL, which payloads may name (§7.3.4, §7.3.5).
  using PayloadFor = std::function<Result<std::string>(const Directory&)>;

  Client(ClientOptions options, std::shared_ptr<HttpClient> http, std::string scheme);

  // One exchange, counted and logged; feeds the nonce pool.
  Result<HttpResponse> Exchange(RequestKind kind, HttpRequest request);
  Result<HttpResponse> Get(RequestKind kind, const std::string& url);
  Result<std::string> TakeNonce();
  // The single path of every signed request (see the file comment). payload is
  // serialized JSON, or "" for POST-as-GET (§6.3). Returns only 2xx responses.
  Result<HttpResponse> Post(RequestKind kind, const std::string& url,
                            std::string_view payload, const PostOptions& options);
  Result<HttpResponse> Post(RequestKind kind, const std::string& url,
                            std::string_view payload) {
    return Post(kind, url, payload, PostOptions());
  }
  // Post, then the body as a JSON object (kProtocol otherwise).
  Result<nlohmann::json> PostJson(RequestKind kind, const std::string& url,
                                  std::string_view payload, HttpResponse* response = nullptr);
  // Shared loop of PollAuthorization/PollOrder; is_final inspects the body.
  Result<nlohmann::json> Poll(RequestKind kind, const std::string& url,
                              TimePoint deadline, const PollStart& start,
                              const std::function<Result<bool>(const nlohmann::json&)>&
                                  is_final,
                              std::string* last_status);
  // The chain's text; *certs: the same, parsed (its check as a chain).
  Result<std::string> DownloadChain(const std::string& url, std::vector<std::string>* alternates,
                                    std::vector<ParsedCertificate>* certs);

  // The cached directory (fetched or parsed from the kept document);
  // *seeded tells whether it came from the kept document.
  Result<Directory> CurrentDirectory(bool* seeded);
  // Discards a kept directory and fetches it; when another thread already
  // did, returns that one. No-op for a directory this client fetched.
  Result<Directory> RefreshDirectory();
  // GET of the directory with directory_mu_ held; the raw body into *body.
  Result<Directory> FetchDirectoryLocked(std::string* body);
  // Post to the directory's `endpoint`, with one retry at a fresh directory's
  // URL when a kept directory's URL gets HTTP 404. *used: the directory the
  // final request was built from.
  Result<HttpResponse> PostToDirectory(RequestKind kind, std::string Directory::*endpoint,
                                       const PayloadFor& payload, PostOptions options,
                                       Directory* used);
  Result<RenewalInfo> FetchRenewalInfo(std::string url, std::string_view cert_pem,
                                       int* http_status);

  ClientOptions options_;
  // The order's first re-check after finalize as learned (OrderPollStart),
  // in microseconds, and whether one came too early.
  std::atomic<int64_t> order_poll_first_us_;
  std::atomic<bool> order_poll_too_early_{false};
  Clock* clock_;
  std::shared_ptr<HttpClient> http_;
  std::string scheme_;
  NoncePool nonces_;
  RequestStats stats_;

  std::mutex directory_mu_;
  std::optional<Directory> directory_;
  bool directory_seeded_ = false;  // directory_ came from directory_document
  bool document_tried_ = false;    // directory_document was parsed once

  mutable std::shared_mutex account_mu_;
  std::optional<PrivateKey> key_;
  std::string kid_;
  std::string thumbprint_;
};

}  // namespace certkeeper::acme

#endif  // CERTKEEPER_ACME_CLIENT_H_
