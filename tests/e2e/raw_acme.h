// Hand-made ACME requests for the end-to-end tests: a signed POST with exactly
// the payload a test wants, so that a test can ask a real CA how it answers a
// request certkeeper's client would never send (no external account binding, a
// wrong MAC, an unknown newOrder member). Not a client: no retries, no checks.
#ifndef CERTKEEPER_TESTS_E2E_RAW_ACME_H_
#define CERTKEEPER_TESTS_E2E_RAW_ACME_H_

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "acme/jws.h"
#include "base/crypto.h"
#include "base/encoding.h"

namespace certkeeper::raw_acme {

struct Answer {
  int status = 0;        // 0: no HTTP answer (error says why)
  nlohmann::json body;   // discarded when not JSON
  std::string location;  // the Location header
  std::string error;
};

// The EAB inner JWS (RFC 8555 §7.3.4): HS256 over the account's public JWK,
// with the key identifier and the newAccount URL in its protected header.
inline nlohmann::json ExternalAccountBinding(const PrivateKey& account_key,
                                             const std::string& kid,
                                             const std::string& hmac_key,
                                             const std::string& url) {
  auto jwk = acme::PublicJwk(account_key);
  EXPECT_TRUE(jwk.ok());
  nlohmann::json protected_header = {{"alg", "HS256"}, {"kid", kid}, {"url", url}};
  std::string input = Base64UrlEncode(protected_header.dump()) + "." +
                      Base64UrlEncode(jwk.ok() ? jwk->dump() : "");
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), hmac_key.data(), static_cast<int>(hmac_key.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len);
  size_t dot = input.find('.');
  return {{"protected", input.substr(0, dot)},
          {"payload", input.substr(dot + 1)},
          {"signature", Base64UrlEncode(std::string(reinterpret_cast<char*>(mac), mac_len))}};
}

// One account key talking to the CA at directory_url (TLS verified with
// ca_bundle). Until NewAccount succeeds requests carry the JWK, then the kid.
class Session {
 public:
  Session(const std::string& directory_url, const std::string& ca_bundle)
      : ca_bundle_(ca_bundle) {
    auto key = PrivateKey::Generate(KeyType::kEc256);
    EXPECT_TRUE(key.ok());
    if (key.ok()) key_ = std::make_unique<PrivateKey>(std::move(*key));
    Answer dir = Get(directory_url);
    directory_ = dir.body;
    EXPECT_EQ(dir.status, 200) << directory_url << ": " << dir.error;
  }

  const nlohmann::json& directory() const { return directory_; }
  std::string Url(const std::string& name) const {
    return directory_.is_object() ? directory_.value(name, "") : "";
  }

  // newAccount agreeing to the terms; with a non-empty eab_kid the payload
  // carries an externalAccountBinding made with eab_hmac_key (raw bytes).
  Answer NewAccount(const std::string& eab_kid = "", const std::string& eab_hmac_key = "") {
    nlohmann::json payload = {{"termsOfServiceAgreed", true},
                              {"contact", {"mailto:e2e@example.com"}}};
    if (!eab_kid.empty() && key_) {
      payload["externalAccountBinding"] =
          ExternalAccountBinding(*key_, eab_kid, eab_hmac_key, Url("newAccount"));
    }
    Answer answer = Post(Url("newAccount"), payload.dump());
    if (answer.status == 201 || answer.status == 200) kid_ = answer.location;
    return answer;
  }

  // A JWS-signed POST of payload (serialized JSON, "" for POST-as-GET). Pebble
  // rejects some nonces at random (PEBBLE_WFE_NONCEREJECT): a badNonce answer
  // is retried with a fresh nonce, a few times.
  Answer Post(const std::string& url, const std::string& payload) {
    if (!key_) return {0, {}, "", "no account key"};
    Answer answer;
    for (int attempt = 0; attempt < 5; ++attempt) {
      std::string nonce = Nonce();
      auto jws = acme::SignJws(*key_, {.url = url, .nonce = nonce, .kid = kid_}, payload);
      if (!jws.ok()) return {0, {}, "", jws.status().ToString()};
      auto [client, path] = ClientFor(url);
      answer = ToAnswer(client->Post(path, jws->dump(), "application/jose+json"));
      if (!answer.body.is_object() ||
          answer.body.value("type", "") != "urn:ietf:params:acme:error:badNonce") {
        break;
      }
    }
    return answer;
  }

  Answer Get(const std::string& url) {
    auto [client, path] = ClientFor(url);
    return ToAnswer(client->Get(path));
  }

 private:
  std::pair<std::unique_ptr<httplib::Client>, std::string> ClientFor(const std::string& url) {
    size_t path_start = url.find('/', url.find("://") + 3);
    auto client = std::make_unique<httplib::Client>(url.substr(0, path_start));
    client->set_ca_cert_path(ca_bundle_);
    client->enable_server_certificate_verification(true);
    client->set_connection_timeout(std::chrono::seconds(5));
    client->set_read_timeout(std::chrono::seconds(10));
    return {std::move(client), path_start == std::string::npos ? "/" : url.substr(path_start)};
  }

  std::string Nonce() {
    auto [client, path] = ClientFor(Url("newNonce"));
    auto response = client->Head(path);
    return response ? response->get_header_value("Replay-Nonce") : "";
  }

  static Answer ToAnswer(const httplib::Result& response) {
    Answer answer;
    if (!response) {
      answer.error = httplib::to_string(response.error());
      return answer;
    }
    answer.status = response->status;
    answer.body = nlohmann::json::parse(response->body, nullptr, false);
    answer.location = response->get_header_value("Location");
    if (answer.body.is_discarded()) answer.error = response->body;
    return answer;
  }

  std::string ca_bundle_;
  std::unique_ptr<PrivateKey> key_;
  nlohmann::json directory_;
  std::string kid_;
};

}  // namespace certkeeper::raw_acme

#endif  // CERTKEEPER_TESTS_E2E_RAW_ACME_H_
