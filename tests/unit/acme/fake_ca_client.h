// A Client wired to a FakeCa with a fake clock, for the tests of one CA
// feature each (EAB, IP identifiers, directory reuse, ...).
#ifndef CERTKEEPER_TESTS_UNIT_ACME_FAKE_CA_CLIENT_H_
#define CERTKEEPER_TESTS_UNIT_ACME_FAKE_CA_CLIENT_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "acme/client.h"
#include "tests/unit/acme/fake_ca.h"

namespace certkeeper::acme::testing {

class FakeCaClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ca_ = std::make_shared<FakeCa>(MakeCertificate(cert_key_, {"example.com"},
                                                   std::string("\x01\x02\x03\x04", 4)));
    ASSERT_NO_FATAL_FAILURE(NewClient(ClientOptions()));
  }

  // Replaces client_ by one built from `options` (directory and clock filled in).
  void NewClient(ClientOptions options) {
    options.directory_url = ca_->directory_url();
    options.clock = &clock_;
    auto client = Client::Create(std::move(options), ca_);
    ASSERT_TRUE(client.ok()) << client.status().ToString();
    client_ = std::move(*client);
    client_->SetAccountKey(account_key_, "");
  }

  void Register() {
    auto account = client_->NewAccount({.terms_of_service_agreed = true});
    ASSERT_TRUE(account.ok()) << account.status().ToString();
  }

  FakeClock clock_{FromUnixSeconds(1'900'000'000)};
  PrivateKey cert_key_ = *PrivateKey::Generate(KeyType::kEc256);
  PrivateKey account_key_ = *PrivateKey::Generate(KeyType::kEc256);
  std::shared_ptr<FakeCa> ca_;
  std::unique_ptr<Client> client_;
};

}  // namespace certkeeper::acme::testing

#endif  // CERTKEEPER_TESTS_UNIT_ACME_FAKE_CA_CLIENT_H_
