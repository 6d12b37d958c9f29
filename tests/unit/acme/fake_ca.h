// A scripted ACME server behind the HttpClient seam. It checks what a real CA
// checks (nonces are single-use, the JWS "url" matches, signatures verify
// against the account's key, kid/jwk rules) and drives resources through their
// states, with knobs to inject badNonce, slow validation, failed validations,
// Retry-After, rate limits, alreadyReplaced and orderNotReady, to require and
// verify external account binding, and to leave keyChange out. Identifiers
// that are IP addresses are of type "ip" (RFC 8738).
#ifndef CERTKEEPER_TESTS_UNIT_ACME_FAKE_CA_H_
#define CERTKEEPER_TESTS_UNIT_ACME_FAKE_CA_H_

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "acme/http.h"
#include "base/crypto.h"
#include "base/names.h"
#include "tests/unit/acme/jose_testing.h"

namespace certkeeper::acme::testing {

class FakeCa : public HttpClient {
 public:
  static constexpr const char* kBase = "https://ca.test";
  std::string Url(const std::string& path) const { return base_ + path; }
  std::string directory_url() const { return Url("/dir"); }

  // Knobs.
  int reject_nonces = 0;           // the next N valid nonces get badNonce
  int authz_pending_polls = 0;     // authz stays pending this many fetches
  int order_processing_polls = 0;  // order stays processing this many fetches
  std::string poll_retry_after;    // Retry-After on pending/processing answers
  std::string finalize_retry_after;  // Retry-After on the finalize answer
  std::optional<std::string> rate_limit_new_order;  // 429 with this Retry-After
  bool offer_renewal_info = true;
  // The challenge types every authorization offers, wildcards included (the
  // client, not the CA, must keep a wildcard to dns-01).
  std::vector<std::string> challenge_types = {"http-01"};
  // Decides each validation when the challenge leaves "processing": "" makes
  // the authorization valid; any other text makes it invalid with an
  // incorrectResponse problem of that detail on the challenge. identifier is
  // as ordered ("*.example.com" for a wildcard). Empty: every validation
  // succeeds.
  std::function<std::string(const std::string& identifier, const std::string& type,
                            const std::string& token)>
      validate;
  // A new order reuses the account's valid authorization of the same
  // identifier, as CAs do (RFC 8555 §7.1.4 leaves it to the CA).
  bool reuse_valid_authzs = false;
  // newOrder with "replaces" gets 409 alreadyReplaced (RFC 9773 §5).
  bool reject_replaces = false;
  int finalize_not_ready = 0;  // the next N finalize requests get orderNotReady
  // The directory offers keyChange; and these profiles (meta.profiles).
  bool offer_key_change = true;
  std::map<std::string, std::string> profiles = {{"classic", "the default"}};
  // RFC 8555 §7.3.4: meta.externalAccountRequired, and the MAC keys (raw
  // bytes) by kid that a binding must verify against. A binding is checked
  // whenever one is sent, required or not.
  bool eab_required = false;
  std::map<std::string, std::string> eab_keys;
  // Runs first; a returned response short-circuits the CA.
  std::function<std::optional<HttpResponse>(const HttpRequest&)> intercept;

  // Observations.
  std::vector<HttpRequest> requests;
  std::vector<json> payloads;  // decoded payloads of signed requests
  std::string last_csr_der;
  std::vector<std::string> deactivated_authzs;  // URLs, in the order deactivated
  json last_revocation;
  bool last_revocation_used_jwk = false;

  // `base`: where the CA is, e.g. "https://ca2.test" for a second one.
  explicit FakeCa(std::string cert_pem, std::string base = kBase)
      : base_(std::move(base)), cert_pem_(std::move(cert_pem)) {}
  // What every order downloads from now on.
  void set_cert_pem(std::string cert_pem) {
    std::lock_guard<std::mutex> lock(mu_);
    cert_pem_ = std::move(cert_pem);
  }

  Result<HttpResponse> Send(const HttpRequest& request) override {
    std::lock_guard<std::mutex> lock(mu_);
    requests.push_back(request);
    if (intercept) {
      if (auto r = intercept(request)) return *r;
    }
    if (request.url.rfind(base_, 0) != 0) return Problem(404, "malformed", "not this CA");
    std::string path = request.url.substr(base_.size());
    if (request.method == "GET" && path == "/dir") return Directory();
    if (request.method == "HEAD" && path == "/nonce") return Reply(200, json());
    if (request.method == "GET" && path.rfind("/ari/", 0) == 0) return RenewalInfo();
    if (request.method == "GET" || request.method == "HEAD") {
      return Problem(404, "malformed", "no such resource " + path);
    }
    if (request.method != "POST") return Problem(405, "malformed", "method");
    return HandlePost(request, path);
  }

  int CountPath(const std::string& prefix) const {
    int n = 0;
    for (const auto& r : requests) {
      if (r.url.rfind(Url(prefix), 0) == 0) ++n;
    }
    return n;
  }

 private:
  struct Authz {
    std::string identifier;  // without "*."
    bool wildcard = false;
    std::string status = "pending";
    std::string responded_type;  // the challenge the client answered
    std::string challenge_status = "pending";
    std::string error;  // detail of a rejected validation
    int polls_left = 0;
  };
  struct OrderState {
    std::vector<std::string> identifiers;
    std::vector<int> authzs;
    std::string status = "pending";
    int polls_left = 0;
  };

  HttpResponse Reply(int status, const json& body,
                     const std::string& content_type = "application/json") {
    HttpResponse r;
    r.status = status;
    r.headers.Add("Replay-Nonce", NewNonce());
    if (!body.is_null()) {
      r.headers.Add("Content-Type", content_type);
      r.body = body.dump();
    }
    return r;
  }

  HttpResponse Problem(int status, const std::string& type, const std::string& detail) {
    return Reply(status,
                 {{"type", "urn:ietf:params:acme:error:" + type}, {"detail", detail},
                  {"status", status}},
                 "application/problem+json");
  }

  std::string NewNonce() {
    std::string n = "nonce" + std::to_string(++nonce_counter_);
    nonces_.insert(n);
    return n;
  }

  HttpResponse Directory() {
    json d = {{"newNonce", Url("/nonce")},     {"newAccount", Url("/new-acct")},
              {"newOrder", Url("/new-order")}, {"revokeCert", Url("/revoke")},
              {"meta", {{"termsOfService", Url("/tos")}}}};
    if (offer_key_change) d["keyChange"] = Url("/key-change");
    if (!profiles.empty()) d["meta"]["profiles"] = profiles;
    if (eab_required) d["meta"]["externalAccountRequired"] = true;
    if (offer_renewal_info) d["renewalInfo"] = Url("/ari");
    HttpResponse r;
    r.status = 200;
    r.headers.Add("Content-Type", "application/json");
    r.body = d.dump();
    return r;
  }

  HttpResponse RenewalInfo() {
    HttpResponse r;
    r.status = 200;
    r.headers.Add("Content-Type", "application/json");
    r.headers.Add("Retry-After", "21600");
    r.body = json{{"suggestedWindow",
                   {{"start", "2030-01-02T00:00:00Z"}, {"end", "2030-01-03T00:00:00Z"}}},
                  {"explanationURL", "https://ca.test/why"}}
                 .dump();
    return r;
  }

  json OrderJson(int id) {
    OrderState& o = orders_[id];
    json ids = json::array();
    for (const auto& i : o.identifiers) ids.push_back({{"type", TypeOf(i)}, {"value", i}});
    json authz = json::array();
    for (int a : o.authzs) authz.push_back(Url("/authz/" + std::to_string(a)));
    json j = {{"status", o.status},
              {"expires", "2030-01-01T00:00:00Z"},
              {"identifiers", ids},
              {"authorizations", authz},
              {"finalize", Url("/finalize/" + std::to_string(id))}};
    if (o.status == "valid") j["certificate"] = Url("/cert/" + std::to_string(id));
    return j;
  }

  static std::string TypeOf(const std::string& identifier) {
    return IsIpAddress(identifier) ? "ip" : "dns";
  }

  // RFC 8555 §7.3.4 as a CA checks it; "" when the binding verifies.
  std::string CheckBinding(const json& binding, const std::string& url, const json& jwk) {
    auto eab = DecodeJws(binding);
    if (!eab) return "externalAccountBinding is not a flattened JWS";
    const json& h = eab->header;
    if (h.contains("nonce") || h.contains("jwk")) return "nonce or jwk in the EAB header";
    if (h.value("url", "") != url) return "EAB url differs from the request's";
    auto key = eab_keys.find(h.value("kid", ""));
    if (key == eab_keys.end()) return "unknown EAB kid";
    if (json::parse(eab->payload, nullptr, false) != jwk) return "EAB payload is not the JWK";
    if (!VerifyHmac(h.value("alg", ""), key->second, eab->signing_input, eab->signature)) {
      return "EAB MAC does not verify";
    }
    return "";
  }

  static std::string Token(int id, const std::string& type) {
    return Base64UrlEncode(Sha256("token" + std::to_string(id) + type));
  }

  json ChallengeJson(int id, const std::string& type) {
    Authz& a = authzs_[id];
    json c = {{"type", type},
              {"url", Url("/chall/" + std::to_string(id) + "/" + type)},
              {"token", Token(id, type)},
              {"status", type == a.responded_type ? a.challenge_status : "pending"}};
    if (type == a.responded_type && !a.error.empty()) {
      c["error"] = {{"type", "urn:ietf:params:acme:error:incorrectResponse"},
                    {"detail", a.error},
                    {"status", 403}};
    }
    return c;
  }

  json AuthzJson(int id) {
    Authz& a = authzs_[id];
    json challenges = json::array();
    for (const std::string& type : challenge_types) challenges.push_back(ChallengeJson(id, type));
    json j = {{"status", a.status},
              {"identifier", {{"type", TypeOf(a.identifier)}, {"value", a.identifier}}},
              {"expires", "2030-01-01T00:00:00Z"},
              {"challenges", challenges}};
    if (a.wildcard) j["wildcard"] = true;
    return j;
  }

  // The challenge leaves "processing": the validate knob decides.
  void Validate(int id) {
    Authz& a = authzs_[id];
    std::string ordered = (a.wildcard ? "*." : "") + a.identifier;
    a.error = validate ? validate(ordered, a.responded_type, Token(id, a.responded_type)) : "";
    a.challenge_status = a.error.empty() ? "valid" : "invalid";
    a.status = a.challenge_status;
  }

  // A new authorization for identifier as ordered, or the account's valid one.
  int AuthzFor(const std::string& ordered) {
    bool wildcard = ordered.rfind("*.", 0) == 0;
    std::string name = wildcard ? ordered.substr(2) : ordered;
    if (reuse_valid_authzs) {
      for (auto& [id, a] : authzs_) {
        if (a.identifier == name && a.wildcard == wildcard && a.status == "valid") return id;
      }
    }
    int aid = static_cast<int>(authzs_.size()) + 1;
    Authz a;
    a.identifier = name;
    a.wildcard = wildcard;
    authzs_[aid] = a;
    return aid;
  }

  void AdvanceOrder(OrderState& o) {
    if (o.status != "pending") return;
    for (int a : o.authzs) {
      if (authzs_[a].status != "valid") return;
    }
    o.status = "ready";
  }

  HttpResponse WithRetryAfter(HttpResponse r) {
    if (!poll_retry_after.empty()) r.headers.Add("Retry-After", poll_retry_after);
    return r;
  }

  // Verifies the JWS and returns the account id (0 for jwk-signed requests).
  std::optional<HttpResponse> Verify(const HttpRequest& request, DecodedJws* out,
                                     int* account, json* jwk_used) {
    if (request.headers.Get("Content-Type") != "application/jose+json") {
      return Problem(415, "malformed", "content type");
    }
    auto jws = DecodeJws(json::parse(request.body, nullptr, false));
    if (!jws) return Problem(400, "malformed", "bad JWS");
    const json& h = jws->header;
    std::string nonce = h.value("nonce", "");
    if (!nonces_.erase(nonce)) return Problem(400, "badNonce", "unknown nonce");
    if (reject_nonces > 0) {
      --reject_nonces;
      return Problem(400, "badNonce", "injected");
    }
    if (h.value("url", "") != request.url) return Problem(401, "unauthorized", "url");
    bool has_jwk = h.contains("jwk");
    bool has_kid = h.contains("kid");
    if (has_jwk == has_kid) return Problem(400, "malformed", "need exactly one of jwk/kid");
    json key;
    *account = 0;
    if (has_jwk) {
      key = h["jwk"];
    } else {
      std::string kid = h["kid"].get<std::string>();
      for (auto& [id, k] : accounts_) {
        if (Url("/acct/" + std::to_string(id)) == kid) {
          *account = id;
          key = k;
        }
      }
      if (*account == 0) return Problem(400, "accountDoesNotExist", "kid");
      if (deactivated_.count(*account)) return Problem(401, "unauthorized", "deactivated");
    }
    PkeyPtr pkey = PublicKeyFromJwk(key);
    if (!pkey || !VerifySignature(pkey.get(), h.value("alg", ""), jws->signing_input,
                                  jws->signature)) {
      return Problem(400, "malformed", "signature does not verify");
    }
    *jwk_used = key;
    if (!jws->payload.empty()) {
      payloads.push_back(json::parse(jws->payload, nullptr, false));
    } else {
      payloads.push_back(json());
    }
    *out = std::move(*jws);
    return std::nullopt;
  }

  HttpResponse HandlePost(const HttpRequest& request, const std::string& path);

  std::mutex mu_;
  std::string base_;
  std::string cert_pem_;
  int nonce_counter_ = 0;
  std::set<std::string> nonces_;
  std::map<int, json> accounts_;
  std::set<int> deactivated_;
  std::map<int, OrderState> orders_;
  std::map<int, Authz> authzs_;
};

inline HttpResponse FakeCa::HandlePost(const HttpRequest& request,
                                       const std::string& path) {
  // An unknown URL is a 404, whoever asks (a CA that moved its URLs).
  bool known = false;
  for (const char* prefix : {"/new-acct", "/acct/", "/key-change", "/new-order", "/order/",
                             "/authz/", "/chall/", "/finalize/", "/cert/", "/revoke"}) {
    if (path.rfind(prefix, 0) == 0) known = true;
  }
  if (!known) return Problem(404, "malformed", "no such resource " + path);
  DecodedJws jws;
  int account = 0;
  json jwk;
  if (auto error = Verify(request, &jws, &account, &jwk)) return *error;
  json payload = jws.payload.empty() ? json() : json::parse(jws.payload, nullptr, false);
  auto id_of = [&](const std::string& prefix) {
    return std::atoi(path.substr(prefix.size()).c_str());
  };

  if (path == "/new-acct") {
    if (account != 0) return Problem(400, "malformed", "newAccount needs jwk");
    for (auto& [id, k] : accounts_) {
      if (k == jwk) {
        HttpResponse r = Reply(200, {{"status", "valid"}});
        r.headers.Add("Location", Url("/acct/" + std::to_string(id)));
        return r;
      }
    }
    if (payload.value("onlyReturnExisting", false)) {
      return Problem(400, "accountDoesNotExist", "no such account");
    }
    if (payload.contains("externalAccountBinding")) {
      std::string why = CheckBinding(payload["externalAccountBinding"], request.url, jwk);
      if (!why.empty()) return Problem(403, "unauthorized", why);
    } else if (eab_required) {
      return Problem(400, "externalAccountRequired", "an EAB is required");
    }
    int id = static_cast<int>(accounts_.size()) + 1;
    accounts_[id] = jwk;
    HttpResponse r = Reply(201, {{"status", "valid"},
                                 {"contact", payload.value("contact", json::array())}});
    r.headers.Add("Location", Url("/acct/" + std::to_string(id)));
    return r;
  }
  if (account == 0 && path != "/revoke") {
    return Problem(400, "malformed", "request needs kid");
  }
  if (path.rfind("/acct/", 0) == 0) {
    if (id_of("/acct/") != account) return Problem(403, "unauthorized", "other account");
    if (payload.is_object() && payload.value("status", "") == "deactivated") {
      deactivated_.insert(account);
      return Reply(200, {{"status", "deactivated"}});
    }
    return Reply(200, {{"status", "valid"}});
  }
  if (path == "/key-change") {
    auto inner = DecodeJws(payload);
    if (!inner || inner->header.contains("nonce") ||
        inner->header.value("url", "") != request.url || !inner->header.contains("jwk")) {
      return Problem(400, "malformed", "inner JWS");
    }
    PkeyPtr new_key = PublicKeyFromJwk(inner->header["jwk"]);
    json inner_payload = json::parse(inner->payload, nullptr, false);
    if (!new_key ||
        !VerifySignature(new_key.get(), inner->header.value("alg", ""),
                         inner->signing_input, inner->signature) ||
        !inner_payload.is_object() ||
        inner_payload.value("account", "") != Url("/acct/" + std::to_string(account)) ||
        inner_payload.value("oldKey", json()) != accounts_[account]) {
      return Problem(400, "malformed", "inner JWS does not verify");
    }
    accounts_[account] = inner->header["jwk"];
    return Reply(200, {{"status", "valid"}});
  }
  if (path == "/new-order") {
    if (rate_limit_new_order) {
      HttpResponse r = Problem(429, "rateLimited", "too many new orders");
      r.headers.Add("Retry-After", *rate_limit_new_order);
      return r;
    }
    if (reject_replaces && payload.contains("replaces")) {
      return Problem(409, "alreadyReplaced", "the certificate was replaced already");
    }
    int id = static_cast<int>(orders_.size()) + 1;
    OrderState o;
    for (const auto& ident : payload["identifiers"]) {
      o.identifiers.push_back(ident["value"].get<std::string>());
      o.authzs.push_back(AuthzFor(ident["value"].get<std::string>()));
    }
    AdvanceOrder(o);  // reused authorizations can make it ready at once
    orders_[id] = o;
    HttpResponse r = Reply(201, OrderJson(id));
    r.headers.Add("Location", Url("/order/" + std::to_string(id)));
    return r;
  }
  if (path.rfind("/order/", 0) == 0) {
    OrderState& o = orders_[id_of("/order/")];
    AdvanceOrder(o);
    if (o.status == "processing" && o.polls_left-- <= 0) o.status = "valid";
    HttpResponse r = Reply(200, OrderJson(id_of("/order/")));
    return o.status == "processing" || o.status == "pending" ? WithRetryAfter(r) : r;
  }
  if (path.rfind("/authz/", 0) == 0) {
    Authz& a = authzs_[id_of("/authz/")];
    if (payload.is_object() && payload.value("status", "") == "deactivated") {
      a.status = "deactivated";  // RFC 8555 §7.5.2
      deactivated_authzs.push_back(request.url);
    }
    if (a.challenge_status == "processing" && a.polls_left-- <= 0) Validate(id_of("/authz/"));
    HttpResponse r = Reply(200, AuthzJson(id_of("/authz/")));
    return a.status == "pending" ? WithRetryAfter(r) : r;
  }
  if (path.rfind("/chall/", 0) == 0) {
    if (jws.payload != "{}") return Problem(400, "malformed", "challenge needs {}");
    int id = id_of("/chall/");
    size_t slash = path.find('/', std::string("/chall/").size());
    if (slash == std::string::npos) return Problem(404, "malformed", "no such challenge");
    std::string type = path.substr(slash + 1);
    Authz& a = authzs_[id];
    a.responded_type = type;
    a.challenge_status = "processing";
    a.polls_left = authz_pending_polls;
    return Reply(200, ChallengeJson(id, type));
  }
  if (path.rfind("/finalize/", 0) == 0) {
    OrderState& o = orders_[id_of("/finalize/")];
    // A finalize sent right after the CA's validation requests finds each
    // validation decided, unless authz_pending_polls keeps it processing.
    for (int a : o.authzs) {
      if (authzs_[a].challenge_status == "processing" && authzs_[a].polls_left <= 0) Validate(a);
    }
    AdvanceOrder(o);
    if (finalize_not_ready > 0) {
      --finalize_not_ready;
      return Problem(403, "orderNotReady", "still checking the authorizations");
    }
    if (o.status != "ready") return Problem(403, "orderNotReady", o.status);
    auto csr = Base64UrlDecode(payload.value("csr", ""));
    if (!csr.ok()) return Problem(400, "badCSR", "csr");
    last_csr_der = *csr;
    o.status = "processing";
    o.polls_left = order_processing_polls;
    HttpResponse r = Reply(200, OrderJson(id_of("/finalize/")));
    if (!finalize_retry_after.empty()) r.headers.Add("Retry-After", finalize_retry_after);
    return r;
  }
  if (path.rfind("/cert/", 0) == 0) {
    HttpResponse r = Reply(200, json());
    r.headers.Add("Content-Type", "application/pem-certificate-chain");
    if (path.find("/alt") == std::string::npos) {
      r.headers.Add("Link", "<" + request.url + "/alt>;rel=\"alternate\"");
      r.headers.Add("Link", "<" + Url("/dir") + ">;rel=\"index\"");
    }
    r.body = cert_pem_;
    return r;
  }
  if (path == "/revoke") {
    last_revocation = payload;
    last_revocation_used_jwk = account == 0;
    return Reply(200, json());
  }
  return Problem(404, "malformed", "no such resource " + path);
}

}  // namespace certkeeper::acme::testing

#endif  // CERTKEEPER_TESTS_UNIT_ACME_FAKE_CA_H_
