// External account binding (RFC 8555 §7.3.4) against a CA that verifies the
// MAC, and the MAC key file format.
#include <gtest/gtest.h>

#include "acme/client.h"
#include "acme/jws.h"
#include "acme/problem.h"
#include "base/encoding.h"
#include "tests/unit/acme/fake_ca_client.h"

namespace certkeeper::acme {
namespace {

using nlohmann::json;
using testing::FakeCaClientTest;
using Binding = NewAccountRequest::ExternalAccountBinding;

const std::string kMacKey = "a 32-byte MAC key from the CA..!";

class EabTest : public FakeCaClientTest {
 protected:
  void SetUp() override {
    FakeCaClientTest::SetUp();
    ca_->eab_required = true;
    ca_->eab_keys["kid-1"] = kMacKey;
  }
};

TEST_F(EabTest, BindingWithTheRightKeyRegisters) {
  for (const char* alg : {"HS256", "HS384", "HS512"}) {
    SCOPED_TRACE(alg);
    ASSERT_NO_FATAL_FAILURE(NewClient(ClientOptions()));
    auto key = PrivateKey::Generate(KeyType::kEc256);
    ASSERT_TRUE(key.ok());
    client_->SetAccountKey(*key, "");
    auto account = client_->NewAccount(
        {.terms_of_service_agreed = true,
         .external_account_binding = Binding{.kid = "kid-1", .mac_key = kMacKey, .alg = alg}});
    ASSERT_TRUE(account.ok()) << account.status().ToString();
    EXPECT_FALSE(client_->account_url().empty());
    // The protected header names exactly alg, kid and the newAccount URL.
    const json& eab = ca_->payloads.back()["externalAccountBinding"];
    auto header = Base64UrlDecode(eab["protected"].get<std::string>());
    ASSERT_TRUE(header.ok());
    EXPECT_EQ(json::parse(*header),
              (json{{"alg", alg}, {"kid", "kid-1"}, {"url", ca_->Url("/new-acct")}}));
  }
}

TEST_F(EabTest, RequiredButNotConfiguredNamesTheCaAndSendsNothing) {
  auto account = client_->NewAccount({.terms_of_service_agreed = true});
  ASSERT_FALSE(account.ok());
  EXPECT_EQ(account.status().code(), ErrorCode::kFailedPrecondition);
  EXPECT_NE(account.status().message().find("the CA at " + ca_->directory_url() +
                                            " requires external account binding"),
            std::string::npos)
      << account.status().message();
  EXPECT_NE(account.status().hint().find("eab_kid and eab_hmac_file"), std::string::npos);
  EXPECT_EQ(ca_->CountPath("/new-acct"), 0);
}

TEST_F(EabTest, WrongKeyIsRefusedAsABindingProblem) {
  auto account = client_->NewAccount(
      {.terms_of_service_agreed = true,
       .external_account_binding = Binding{.kid = "kid-1", .mac_key = "not the CA's key"}});
  ASSERT_FALSE(account.ok());
  EXPECT_EQ(account.status().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(account.status().message().find("external account binding was refused by " +
                                            ca_->directory_url()),
            std::string::npos)
      << account.status().message();
  EXPECT_NE(account.status().hint().find("eab_kid"), std::string::npos);
  ASSERT_NE(account.status().problem(), nullptr);
  EXPECT_TRUE(account.status().problem()->Is("unauthorized"));
  EXPECT_TRUE(IsCaRefusal(account.status()));
  EXPECT_TRUE(client_->account_url().empty());
}

TEST_F(EabTest, UnknownKidIsRefusedAsABindingProblem) {
  auto account = client_->NewAccount(
      {.external_account_binding = Binding{.kid = "kid-2", .mac_key = kMacKey}});
  ASSERT_FALSE(account.ok());
  EXPECT_NE(account.status().message().find("external account binding was refused"),
            std::string::npos);
}

TEST_F(EabTest, UnknownAlgorithmIsRefusedBeforeAnyRequest) {
  auto account = client_->NewAccount(
      {.external_account_binding = Binding{.kid = "kid-1", .mac_key = kMacKey, .alg = "none"}});
  ASSERT_FALSE(account.ok());
  EXPECT_EQ(account.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ca_->CountPath("/new-acct"), 0);
}

// A CA that does not require EAB still verifies a binding it is sent.
TEST_F(FakeCaClientTest, BindingIsSentAlsoWhenNotRequired) {
  ca_->eab_keys["k"] = kMacKey;
  auto account =
      client_->NewAccount({.external_account_binding = Binding{.kid = "k", .mac_key = kMacKey}});
  ASSERT_TRUE(account.ok()) << account.status().ToString();
  EXPECT_TRUE(ca_->payloads.back().contains("externalAccountBinding"));
}

TEST(DecodeEabMacKeyTest, AcceptsBase64UrlWithWhitespaceAndPadding) {
  const std::string key = "\xfb\xff\x00\x01key bytes";
  const std::string encoded = Base64UrlEncode(key);
  ASSERT_NE(encoded.find_first_of("-_"), std::string::npos);  // exercises the alphabet
  for (const std::string& text :
       {encoded, encoded + "\n", "  " + encoded + "\r\n", encoded + "=", "\t" + encoded + "=\n"}) {
    auto decoded = DecodeEabMacKey(text);
    ASSERT_TRUE(decoded.ok()) << text << ": " << decoded.status().ToString();
    EXPECT_EQ(*decoded, key);
  }
  EXPECT_EQ(*DecodeEabMacKey("YWJj"), "abc");
  EXPECT_EQ(*DecodeEabMacKey("YWI="), "ab");
  EXPECT_EQ(*DecodeEabMacKey("YQ=="), "a");
  EXPECT_EQ(*DecodeEabMacKey("YQ"), "a");
}

TEST(DecodeEabMacKeyTest, RefusesEverythingElse) {
  struct Case {
    const char* meaning;
    std::string text;
    const char* says;
  } cases[] = {
      {"empty", "", "empty"},
      {"only whitespace", " \n\t", "empty"},
      {"standard base64", "ab+/cd", "standard base64"},
      {"inner space", "YWJj YWJj", "alphabet"},
      {"inner newline", "YWJj\nYWJj", "alphabet"},
      {"too much padding", "YQ===", "padding"},
      {"padding that does not fit", "YWJj=", "padding"},
      {"impossible length", "YWJjZ", "length"},
      {"quotes", "\"YWJj\"", "alphabet"},
      {"NUL", std::string("YW\0j", 4), "alphabet"},
      {"non-ASCII", "YWJj\xc3\xa9", "alphabet"},
  };
  for (const Case& c : cases) {
    auto decoded = DecodeEabMacKey(c.text);
    ASSERT_FALSE(decoded.ok()) << c.meaning;
    EXPECT_EQ(decoded.status().code(), ErrorCode::kInvalidArgument) << c.meaning;
    EXPECT_NE(decoded.status().message().find(c.says), std::string::npos)
        << c.meaning << ": " << decoded.status().message();
    EXPECT_FALSE(decoded.status().hint().empty()) << c.meaning;
  }
}

}  // namespace
}  // namespace certkeeper::acme
