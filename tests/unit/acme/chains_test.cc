// Preferred chain: matching the topmost certificate's issuer (or subject) CN
// over the default chain and the alternates, in order.
#include "acme/chains.h"

#include <gtest/gtest.h>

#include "tests/support/test_cert.h"

namespace certkeeper::acme {
namespace {

using certkeeper::testing::MadeCert;
using certkeeper::testing::MakeCert;

class ChainsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MadeCert root_x1 = MakeCert("Root X1", nullptr, 1);
    MadeCert root_x2 = MakeCert("Root X2", nullptr, 2);
    MadeCert old_root = MakeCert("Old Root", nullptr, 3);
    MadeCert cross_x1 = MakeCert("Root X1", &old_root, 4);  // Root X1 signed by Old Root
    MadeCert int_a = MakeCert("Int A", &root_x1, 5);
    MadeCert int_b = MakeCert("Int B", &root_x2, 6);
    MadeCert leaf_a = MakeCert("example.com", &int_a, 7);
    MadeCert leaf_b = MakeCert("example.com", &int_b, 8);
    chains_.pem = leaf_a.CertPem() + int_a.CertPem();  // top: Int A, issued by Root X1
    chains_.alternates = {
        leaf_b.CertPem() + int_b.CertPem(),                        // issued by Root X2
        leaf_a.CertPem() + int_a.CertPem() + cross_x1.CertPem(),  // issued by Old Root
    };
    chains_.alternate_urls = {"https://ca.test/cert/1/1", "https://ca.test/cert/1/2"};
  }

  CertificateChains chains_;
};

TEST_F(ChainsTest, ChoosesByTheTopCertificatesIssuer) {
  int chosen = 42;
  EXPECT_EQ(ChoosePreferredChain(chains_, "Root X2", &chosen), chains_.alternates[0]);
  EXPECT_EQ(chosen, 0);
  EXPECT_EQ(ChoosePreferredChain(chains_, "Old Root", &chosen), chains_.alternates[1]);
  EXPECT_EQ(chosen, 1);
  // The default chain comes first when it matches too.
  EXPECT_EQ(ChoosePreferredChain(chains_, "Root X1", &chosen), chains_.pem);
  EXPECT_EQ(chosen, -1);
}

TEST_F(ChainsTest, TheTopCertificatesOwnNameMatchesToo) {
  int chosen = 42;
  EXPECT_EQ(ChoosePreferredChain(chains_, "Int B", &chosen), chains_.alternates[0]);
  EXPECT_EQ(chosen, 0);
  // A name lower in a chain is not the top: "Int A" is the default chain's top.
  EXPECT_EQ(ChoosePreferredChain(chains_, "Int A", &chosen), chains_.pem);
  EXPECT_EQ(chosen, -1);
}

TEST_F(ChainsTest, DefaultWhenNothingMatchesOrNoNameIsGiven) {
  for (const char* name : {"", "Unknown Root", "root x2", "Root X2 ", "example.com"}) {
    int chosen = 42;
    EXPECT_EQ(ChoosePreferredChain(chains_, name, &chosen), chains_.pem) << name;
    EXPECT_EQ(chosen, -1) << name;
  }
  EXPECT_EQ(ChoosePreferredChain(chains_, "Root X2"), chains_.alternates[0]);  // no out-param
}

TEST_F(ChainsTest, UnparsableChainsArePassedOver) {
  chains_.alternates.insert(chains_.alternates.begin(), "not a PEM chain");
  int chosen = 42;
  EXPECT_EQ(ChoosePreferredChain(chains_, "Root X2", &chosen), chains_.alternates[1]);
  EXPECT_EQ(chosen, 1);
  CertificateChains none;
  none.pem = "garbage";
  EXPECT_EQ(ChoosePreferredChain(none, "Root X2", &chosen), "garbage");
  EXPECT_EQ(chosen, -1);
}

}  // namespace
}  // namespace certkeeper::acme
