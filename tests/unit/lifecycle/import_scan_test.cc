// ScanCertbot over a certbot directory laid out as certbot lays it out (made
// here with real keys and certificates): every version with the live one
// last, the account's JWK and URL, the manual DNS hooks as an exec provider
// that really runs them with certbot's variables, and pre_hook reported.
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <set>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "base/encoding.h"
#include "base/fs.h"
#include "base/process.h"
#include "lifecycle/import_certbot.h"

namespace certkeeper::lifecycle {
namespace {

std::string Pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, n);
  BIO_free(bio);
  return out;
}

// A self-signed leaf for `names` with the given serial.
std::string Leaf(EVP_PKEY* key, long serial, const std::string& san) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 90L * 86400);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>("web.example.com"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, key);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, san.c_str());
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(x, key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, n);
  BIO_free(bio);
  X509_free(x);
  return out;
}

std::string EcJwk(EVP_PKEY* key) {
  unsigned char point[65];
  size_t len = 0;
  EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &len);
  BIGNUM* d = nullptr;
  EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_PRIV_KEY, &d);
  std::string db(32, '\0');
  BN_bn2binpad(d, reinterpret_cast<unsigned char*>(db.data()), 32);
  BN_free(d);
  std::string p(reinterpret_cast<char*>(point), len);
  return nlohmann::json{{"kty", "EC"}, {"crv", "P-256"}, {"x", Base64UrlEncode(p.substr(1, 32))},
                        {"y", Base64UrlEncode(p.substr(33, 32))}, {"d", Base64UrlEncode(db)}}
      .dump();
}

class CertbotTree : public ::testing::Test {
 protected:
  void Write(const std::string& rel, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root_ + "/" + rel).parent_path());
    std::ofstream(root_ + "/" + rel) << text;
  }
  fs::TempDir dir_;
  std::string root_ = dir_.path() + "/le";
};

TEST_F(CertbotTree, ManualDnsLineageWithTwoVersionsAndItsAccount) {
  const std::string marker = dir_.path() + "/hook-ran";
  const std::string server = "https://ca.example:14000/dir";
  Write("renewal/web.conf",
        "version = 2.1.0\narchive_dir = /etc/letsencrypt/archive/web\n[renewalparams]\n"
        "account = 0123abcd\nserver = " + server + "\nauthenticator = manual\n"
        "pref_challs = dns-01,\nkey_type = ecdsa\nelliptic_curve = secp384r1\n"
        "manual_auth_hook = echo \"auth $CERTBOT_DOMAIN $CERTBOT_VALIDATION\" >> " + marker + "\n"
        "manual_cleanup_hook = echo \"cleanup $CERTBOT_DOMAIN\" >> " + marker + "\n"
        "pre_hook = systemctl stop nginx\nmust_staple = True\n");
  std::vector<long> serials = {0x1111, 0x2222, 0x3333};
  for (int n = 1; n <= 3; ++n) {
    EVP_PKEY* key = EVP_EC_gen("P-256");
    const std::string i = std::to_string(n);
    Write("archive/web/cert" + i + ".pem", Leaf(key, serials[n - 1], "DNS:web.example.com,DNS:*.web.example.com"));
    Write("archive/web/privkey" + i + ".pem", Pem(key));
    EVP_PKEY_free(key);
  }
  // Version 3 was never made live (a failed deploy, a rollback): not imported.
  std::filesystem::create_directories(root_ + "/live/web");
  std::filesystem::create_symlink("../../archive/web/cert2.pem", root_ + "/live/web/cert.pem");
  EVP_PKEY* account_key = EVP_EC_gen("P-256");
  const std::string account_dir = "accounts/ca.example:14000/dir/0123abcd/";
  Write(account_dir + "private_key.json", EcJwk(account_key));
  Write(account_dir + "regr.json", R"({"body": {}, "uri": "https://ca.example:14000/acct/7"})");
  Write(account_dir + "meta.json", R"({"creation_host": "h"})");

  auto plan = ScanCertbot(root_);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_EQ(plan->certificates.size(), 1u);
  const ImportedCertificate& web = plan->certificates[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.domains, (std::vector<std::string>{"web.example.com", "*.web.example.com"}));
  EXPECT_EQ(web.key_type, KeyType::kEc384);  // what renewals make, from elliptic_curve
  EXPECT_EQ(web.server, server);
  ASSERT_EQ(web.versions.size(), 2u);
  EXPECT_EQ(ParseCertificatePem(web.versions[0].cert_pem)->serial_hex, "1111");
  EXPECT_EQ(ParseCertificatePem(web.versions[1].cert_pem)->serial_hex, "2222");
  ASSERT_EQ(plan->accounts.size(), 1u);
  EXPECT_EQ(plan->accounts[0].account_url, "https://ca.example:14000/acct/7");
  auto imported_key = PrivateKey::FromPem(plan->accounts[0].key_pem);
  ASSERT_TRUE(imported_key.ok());
  unsigned char* der = nullptr;
  int n = i2d_PUBKEY(account_key, &der);
  EXPECT_EQ(*imported_key->PublicKeyDer(), std::string(reinterpret_cast<char*>(der), n));
  OPENSSL_free(der);
  EVP_PKEY_free(account_key);
  std::set<std::string> reported;
  for (const auto& u : plan->unmapped) reported.insert(u.setting);
  EXPECT_TRUE(reported.count("pre_hook"));
  EXPECT_TRUE(reported.count("must_staple"));
  EXPECT_TRUE(reported.count("version"));  // cert3.pem, newer than live

  // The exec provider runs certbot's hooks with certbot's variables, as the
  // exec contract calls it: PROGRAM [ARGS] present|cleanup FQDN VALUE.
  const SolverSettings& dns = plan->solvers.at("dns-01");
  EXPECT_EQ(dns.provider, "exec");
  EXPECT_EQ(web.challenges, std::vector<std::string>{"dns-01"});
  for (const char* action : {"present", "cleanup"}) {
    ProcessSpec spec;
    spec.argv = dns.command;
    spec.argv.insert(spec.argv.end(), {action, "_acme-challenge.web.example.com.", "tok;$(id)"});
    spec.env = {{"CERTKEEPER_DNS_DOMAIN", "web.example.com"}};
    auto r = RunProcess(spec);
    ASSERT_TRUE(r.ok() && r->success()) << (r.ok() ? r->stderr_data : r.status().ToString());
  }
  EXPECT_EQ(*fs::ReadFile(marker), "auth web.example.com tok;$(id)\ncleanup web.example.com\n");
}

}  // namespace
}  // namespace certkeeper::lifecycle
