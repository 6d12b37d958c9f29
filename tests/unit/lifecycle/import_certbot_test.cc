// The parsers of `import --from certbot|lego`: renewal confs, JWK account
// keys, lego's account.json, and a source tree with hostile content (names
// that are paths, symlinks out of the tree, huge files), read without a
// change to it.
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <sys/stat.h>

#include <filesystem>
#include <map>
#include <set>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/crypto.h"
#include "base/encoding.h"
#include "base/fs.h"
#include "lifecycle/import_certbot.h"
#include "lifecycle/import_lego.h"
#include "lifecycle/import_source.h"

namespace certkeeper::lifecycle {
namespace {

TEST(RenewalConf, ReadsWhatCertbotWrites) {
  auto conf = ParseRenewalConf(
      "# renew_before_expiry = 30 days\nversion = 2.1.0\narchive_dir = /etc/letsencrypt/archive/a\n"
      "\n# Options used in the renewal process\n[renewalparams]\naccount = d52a34f1\n"
      "key_type = ecdsa\nrenew_hook = '''printf '%s\\n' \"$X\" >> /tmp/m'''\n"
      "post_hook = \"systemctl reload nginx\"\nserver = https://ca.example/dir\n"
      "authenticator = webroot\nwebroot_path = /var/www/a, /var/www/b,\n"
      "[[webroot_map]]\na.example.com = /var/www/a\n*.b.example.com = /var/www/b\n");
  ASSERT_TRUE(conf.ok()) << conf.status().ToString();
  EXPECT_EQ(conf->top.at("version"), "2.1.0");
  EXPECT_EQ(conf->params.at("account"), "d52a34f1");
  EXPECT_EQ(conf->params.at("renew_hook"), "printf '%s\\n' \"$X\" >> /tmp/m");
  EXPECT_EQ(conf->params.at("post_hook"), "systemctl reload nginx");
  EXPECT_EQ(ConfList(conf->params.at("webroot_path")),
            (std::vector<std::string>{"/var/www/a", "/var/www/b"}));
  EXPECT_EQ(conf->webroot_map.at("*.b.example.com"), "/var/www/b");
}

TEST(RenewalConf, RefusesWhatIsNotARenewalConf) {
  struct Row {
    const char* name;
    std::string text;
  };
  const Row rows[] = {
      {"line without =", "[renewalparams]\njust words\n"},
      {"duplicate key", "[renewalparams]\naccount = a\naccount = b\n"},
      {"NUL byte", std::string("version = 1\0\n", 13)},
      {"key with a slash", "[renewalparams]\n../x = 1\n"},
      {"unclosed section", "[renewalparams\nx = 1\n"},
  };
  for (const Row& r : rows) {
    EXPECT_FALSE(ParseRenewalConf(r.text).ok()) << r.name;
  }
}

TEST(CertbotAccountDir, FollowsCertbotsLayout) {
  EXPECT_EQ(*CertbotAccountDir(kLetsEncryptProduction), "acme-v02.api.letsencrypt.org/directory");
  EXPECT_EQ(*CertbotAccountDir("https://127.0.0.1:14000/dir"), "127.0.0.1:14000/dir");
  for (const char* hostile : {"https://ca.example/../../etc", "https://ca.example//dir",
                              "file:///etc/passwd", "https://ca.example/a\nb", "https://"}) {
    EXPECT_FALSE(CertbotAccountDir(hostile).ok()) << hostile;
  }
}

// A JWK of `key`'s private numbers (what certbot's private_key.json holds).
std::string JwkOf(EVP_PKEY* key, bool rsa) {
  auto b64 = [&](const char* name) {
    BIGNUM* bn = nullptr;
    EXPECT_EQ(EVP_PKEY_get_bn_param(key, name, &bn), 1) << name;
    std::string bytes(BN_num_bytes(bn), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(bytes.data()));
    BN_free(bn);
    return Base64UrlEncode(bytes);
  };
  nlohmann::json j;
  if (rsa) {
    j = {{"kty", "RSA"}, {"n", b64(OSSL_PKEY_PARAM_RSA_N)}, {"e", b64(OSSL_PKEY_PARAM_RSA_E)},
         {"d", b64(OSSL_PKEY_PARAM_RSA_D)}, {"p", b64(OSSL_PKEY_PARAM_RSA_FACTOR1)},
         {"q", b64(OSSL_PKEY_PARAM_RSA_FACTOR2)}, {"dp", b64(OSSL_PKEY_PARAM_RSA_EXPONENT1)},
         {"dq", b64(OSSL_PKEY_PARAM_RSA_EXPONENT2)}, {"qi", b64(OSSL_PKEY_PARAM_RSA_COEFFICIENT1)}};
  } else {
    unsigned char point[65];
    size_t len = 0;
    EXPECT_EQ(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point,
                                              &len), 1);
    std::string p(reinterpret_cast<char*>(point), len);
    j = {{"kty", "EC"}, {"crv", "P-256"}, {"x", Base64UrlEncode(p.substr(1, 32))},
         {"y", Base64UrlEncode(p.substr(33, 32))}, {"d", b64(OSSL_PKEY_PARAM_PRIV_KEY)}};
  }
  return j.dump();
}

TEST(JwkToPem, RsaAndEcKeysKeepTheirPublicKey) {
  for (bool rsa : {true, false}) {
    EVP_PKEY* key = rsa ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
    ASSERT_NE(key, nullptr);
    auto pem = JwkToPem(JwkOf(key, rsa));
    ASSERT_TRUE(pem.ok()) << pem.status().ToString();
    auto parsed = PrivateKey::FromPem(*pem);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(parsed->type(), rsa ? KeyType::kRsa2048 : KeyType::kEc256);
    // The same key: the public halves are equal.
    unsigned char* der = nullptr;
    int n = i2d_PUBKEY(key, &der);
    ASSERT_GT(n, 0);
    EXPECT_EQ(*parsed->PublicKeyDer(), std::string(reinterpret_cast<char*>(der), n));
    OPENSSL_free(der);
    EVP_PKEY_free(key);
  }
}

TEST(JwkToPem, RefusesBrokenKeys) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  nlohmann::json good = nlohmann::json::parse(JwkOf(key, false));
  EVP_PKEY_free(key);
  auto with = [&](const char* member, nlohmann::json value) {
    nlohmann::json j = good;
    if (value.is_null()) {
      j.erase(member);
    } else {
      j[member] = value;
    }
    return j.dump();
  };
  const std::pair<const char*, std::string> rows[] = {
      {"not JSON", "{"},
      {"an array", "[]"},
      {"no d", with("d", nullptr)},
      {"d of another key", with("d", Base64UrlEncode(std::string(32, '\x11')))},
      {"x too short", with("x", Base64UrlEncode("abc"))},
      {"not base64url", with("y", "***")},
      {"unknown curve", with("crv", "P-521")},
      {"unknown kty", with("kty", "oct")},
  };
  for (const auto& [name, text] : rows) EXPECT_FALSE(JwkToPem(text).ok()) << name;
}

TEST(LegoAccount, ReadsRegistrationUri) {
  auto a = ParseLegoAccount(R"({"email":"ops@example.com","registration":{"body":{},
      "uri":"https://127.0.0.1:14000/my-account/1"}})");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->email, "ops@example.com");
  EXPECT_EQ(a->uri, "https://127.0.0.1:14000/my-account/1");
  EXPECT_FALSE(ParseLegoAccount(R"({"email":"x"})").ok());
  EXPECT_FALSE(ParseLegoAccount(R"({"registration":{"uri":"file:///etc/passwd"}})").ok());
  EXPECT_FALSE(ParseLegoAccount("not json").ok());
  EXPECT_EQ(LegoAccountFolder("https://127.0.0.1:14000/dir"), "127.0.0.1_14000");
  EXPECT_EQ(LegoAccountFolder(kLetsEncryptProduction), "acme-v02.api.letsencrypt.org");
}

// A directory tree made by the test, fingerprinted to prove the scan did not
// change it.
class HostileTree : public ::testing::Test {
 protected:
  void Write(const std::string& rel, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root_ + "/" + rel).parent_path());
    std::ofstream(root_ + "/" + rel) << text;
  }
  std::string Fingerprint() {
    std::string out;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root_)) {
      out += e.path().string();
      if (e.is_symlink()) {
        out += "->" + std::filesystem::read_symlink(e.path()).string();
      } else if (e.is_regular_file()) {
        out += HexEncode(Sha256(*fs::ReadFile(e.path().string())));
      }
      out += "\n";
    }
    return out;
  }
  fs::TempDir outside_;
  fs::TempDir dir_;
  std::string root_ = dir_.path() + "/letsencrypt";
};

TEST_F(HostileTree, SourceTreeStaysInside) {
  Write("archive/a/cert1.pem", "inside");
  Write("../secret", "outside");
  std::filesystem::create_directories(root_ + "/live/a");
  std::filesystem::create_symlink("../../archive/a/cert1.pem", root_ + "/live/a/cert.pem");
  std::filesystem::create_symlink(dir_.path() + "/secret", root_ + "/live/a/privkey.pem");
  std::filesystem::create_symlink("../../../secret", root_ + "/live/a/chain.pem");
  Write("big", std::string(kMaxSourceFile + 1, 'x'));
  mkfifo((root_ + "/fifo").c_str(), 0600);
  auto tree = SourceTree::Open(root_);
  ASSERT_TRUE(tree.ok());
  EXPECT_EQ(*tree->Read("live/a/cert.pem"), "inside");  // a symlink within the tree
  EXPECT_EQ(tree->Read("live/a/privkey.pem").status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(tree->Read("live/a/chain.pem").status().code(), ErrorCode::kPermissionDenied);
  EXPECT_EQ(tree->Read("../secret").status().code(), ErrorCode::kPermissionDenied);
  EXPECT_FALSE(tree->Read("big").ok());
  EXPECT_FALSE(tree->Read("fifo").ok());  // returns at once, does not block
  EXPECT_EQ(tree->Read("missing").status().code(), ErrorCode::kNotFound);
}

TEST_F(HostileTree, CertbotScanReportsBadLineagesAndChangesNothing) {
  // Names that are paths or carry newlines and shell metacharacters, a conf
  // too large, an archive whose key is a symlink out of the tree.
  for (const std::string name : {"..", "a\nb", "x;rm -rf ~", "$(id)"}) {
    Write("renewal/" + name + ".conf", "[renewalparams]\nauthenticator = standalone\n");
  }
  Write("renewal/huge.conf", std::string(2 << 20, '#'));
  Write("renewal/latin1.conf", "[renewalparams]\nwebroot_path = /var/www/caf\xe9\n");
  Write("renewal/planted.conf", "[renewalparams]\nauthenticator = standalone\n");
  Write("archive/planted/cert1.pem", "x");
  Write("../secret-key.pem", "not for you");
  std::filesystem::create_symlink(dir_.path() + "/secret-key.pem",
                                  root_ + "/archive/planted/privkey1.pem");
  const std::string before = Fingerprint();
  auto plan = ScanCertbot(root_);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_TRUE(plan->certificates.empty());
  // Each refused for its own reason, before anything else was read.
  std::map<std::string, std::string> refused;
  for (const auto& u : plan->unmapped) {
    if (u.setting == "certificate") refused[u.certificate] = u.hint;
  }
  const std::map<std::string, std::string> reasons = {
      {"..", "name"},       {"a\nb", "name"},     {"x;rm -rf ~", "name"}, {"$(id)", "name"},
      {"huge", "too large"}, {"latin1", "UTF-8"}, {"planted", "outside"}};
  EXPECT_EQ(refused.size(), reasons.size());
  for (const auto& [name, reason] : reasons) {
    ASSERT_TRUE(refused.count(name)) << name;
    EXPECT_NE(refused[name].find(reason), std::string::npos) << name << ": " << refused[name];
  }
  EXPECT_EQ(Fingerprint(), before);
  EXPECT_FALSE(ScanCertbot(dir_.path() + "/nothing-here").ok());
}

TEST(ChooseSolvers, MostCertificatesWinAndTheOthersAreReported) {
  auto standalone = [](const char* name) {
    SolverCandidate c{name, {}, "authenticator", "standalone"};
    c.settings.type = "http-01";
    c.settings.listen = "0.0.0.0:80";
    return c;
  };
  auto webroot = [](const char* name) {
    SolverCandidate c{name, {}, "authenticator", "webroot"};
    c.settings.type = "http-01";
    c.settings.webroot = "/var/www";
    return c;
  };
  ImportPlan two_to_one;
  ChooseSolvers({standalone("a"), webroot("b"), standalone("c")}, two_to_one);
  EXPECT_EQ(two_to_one.solvers["http-01"].listen, "0.0.0.0:80");
  ASSERT_EQ(two_to_one.unmapped.size(), 1u);
  EXPECT_EQ(two_to_one.unmapped[0].certificate, "b");
  ImportPlan tie;
  ChooseSolvers({standalone("a"), webroot("b")}, tie);
  EXPECT_EQ(tie.solvers["http-01"].webroot, "/var/www");
  ASSERT_EQ(tie.unmapped.size(), 1u);
  EXPECT_EQ(tie.unmapped[0].certificate, "a");
}

TEST(HookTargets, HookTextIsOneArgumentNeverMixedWithNames) {
  ImportPlan plan;
  plan.from = "certbot";
  const std::string hook = "systemctl reload nginx; echo \"$RENEWED_LINEAGE\" > /tmp/x";
  std::string a = AddHookTarget(plan, hook);
  EXPECT_EQ(AddHookTarget(plan, hook), a);  // the same text, the same target
  ASSERT_EQ(plan.deploy.size(), 1u);
  const auto& argv = plan.deploy[0].command;
  ASSERT_EQ(argv.size(), 3u);
  EXPECT_EQ(argv[0], "/bin/sh");
  EXPECT_EQ(argv[1], "-c");
  EXPECT_EQ(argv[2].substr(argv[2].size() - hook.size()), hook);
  EXPECT_EQ(TomlString("a\"b\\c\nd\x1b"), "\"a\\\"b\\\\c\\u000ad\\u001b\"");
}

}  // namespace
}  // namespace certkeeper::lifecycle
