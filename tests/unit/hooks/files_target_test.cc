#include "hooks/files_target.h"

#include <gtest/gtest.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "base/fs.h"
#include "hooks/deploy_target.h"
#include "tests/support/fs_helpers.h"
#include "tests/unit/hooks/test_pki.h"

namespace certkeeper::hooks {
namespace {

using testing::TestPki;
using test_fs::ListDir;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string Read(const std::string& path) {
  auto content = fs::ReadFile(path);
  EXPECT_TRUE(content.ok()) << content.status().ToString();
  return content.ok() ? *content : std::string();
}

class FilesTargetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tmp_.path().empty());
    dir_ = fs::JoinPath(tmp_.path(), "certs");
    ASSERT_TRUE(fs::MakeDirs(dir_).ok());
    config_.name = "local";
    config_.type = TargetType::kFiles;
    config_.directory = dir_;
    config_.mode = 0640;
  }

  std::string Path(const std::string& name) const { return fs::JoinPath(dir_, name); }

  // A script that appends one line to reload.log each time it runs.
  std::vector<std::string> CountingReload() {
    std::string script = fs::JoinPath(tmp_.path(), "reload.sh");
    std::string log = fs::JoinPath(tmp_.path(), "reload.log");
    EXPECT_TRUE(fs::WriteFileAtomic(script, "#!/bin/sh\necho reloaded >> '" + log + "'\n",
                                    testing::WithMode(0755))
                    .ok());
    return {script};
  }
  int ReloadCount() {
    std::string log = fs::JoinPath(tmp_.path(), "reload.log");
    if (!fs::Exists(log)) return 0;
    std::string content = Read(log);
    return static_cast<int>(std::count(content.begin(), content.end(), '\n'));
  }

  fs::TempDir tmp_;
  std::string dir_;
  TargetConfig config_;
  TestPki pki_ = TestPki::Create(std::chrono::system_clock::now());
  Material material_ = pki_.MakeMaterial("web", {"example.com"});
  DeployContext context_;
};

TEST_F(FilesTargetTest, WritesChosenFilesWithModesAndNothingElse) {
  config_.files = {{MaterialKind::kCert, "cert.pem"},
                   {MaterialKind::kChain, "chain.pem"},
                   {MaterialKind::kFullchain, "fullchain.pem"},
                   {MaterialKind::kKey, "privkey.pem"}};
  FilesTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_TRUE(s.ok()) << s.ToString();

  EXPECT_EQ(Read(Path("cert.pem")), material_.cert_pem);
  EXPECT_EQ(Read(Path("chain.pem")), material_.chain_pem);
  EXPECT_EQ(Read(Path("fullchain.pem")), material_.fullchain_pem);
  EXPECT_EQ(Read(Path("privkey.pem")), material_.key_pem);
  EXPECT_EQ(ModeOf(Path("cert.pem")), 0644u);
  EXPECT_EQ(ModeOf(Path("fullchain.pem")), 0644u);
  EXPECT_EQ(ModeOf(Path("privkey.pem")), 0640u);
  // No temporary file survives the atomic writes.
  EXPECT_EQ(ListDir(dir_), (std::set<std::string>{"cert.pem", "chain.pem", "fullchain.pem",
                                                  "privkey.pem", kPreviousDirName}));
  EXPECT_TRUE(ListDir(Path(kPreviousDirName)).empty());
  ASSERT_EQ(context_.steps.size(), 4u);
  for (const StepRecord& step : context_.steps) {
    EXPECT_TRUE(step.ok) << step.description;
    EXPECT_EQ(step.kind, "install");
    EXPECT_EQ(step.target, "local");
  }
}

TEST_F(FilesTargetTest, CombinedIsKeyThenFullchain) {
  config_.files = {{MaterialKind::kCombined, "haproxy.pem"}};
  FilesTarget target(config_);
  ASSERT_TRUE(target.Deploy(material_, context_).ok());
  EXPECT_EQ(Read(Path("haproxy.pem")), material_.key_pem + material_.fullchain_pem);
  EXPECT_EQ(ModeOf(Path("haproxy.pem")), 0640u);
}

TEST_F(FilesTargetTest, Pkcs12ParsesBackWithThePassphrase) {
  std::string pass_file = fs::JoinPath(tmp_.path(), "p12.pass");
  ASSERT_TRUE(fs::WritePrivateFile(pass_file, "correct horse\n").ok());
  config_.files = {{MaterialKind::kPkcs12, "web.p12"}};
  config_.pkcs12_passphrase_file = pass_file;
  FilesTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ModeOf(Path("web.p12")), 0640u);

  std::string der = Read(Path("web.p12"));
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<PKCS12, decltype(&PKCS12_free)> p12(
      d2i_PKCS12(nullptr, &p, static_cast<long>(der.size())), PKCS12_free);
  ASSERT_TRUE(p12);

  const X509_ALGOR* mac_alg = nullptr;
  PKCS12_get0_mac(nullptr, &mac_alg, nullptr, nullptr, p12.get());
  ASSERT_NE(mac_alg, nullptr);
  const ASN1_OBJECT* mac_oid = nullptr;
  X509_ALGOR_get0(&mac_oid, nullptr, nullptr, mac_alg);
  EXPECT_EQ(OBJ_obj2nid(mac_oid), NID_sha256);

  EXPECT_EQ(PKCS12_verify_mac(p12.get(), "wrong", -1), 0);
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  STACK_OF(X509)* ca = nullptr;
  ASSERT_EQ(PKCS12_parse(p12.get(), "correct horse", &key, &cert, &ca), 1);
  EXPECT_EQ(testing::CertToPem(cert), material_.cert_pem);
  EXPECT_EQ(testing::KeyToPem(key), material_.key_pem);
  ASSERT_NE(ca, nullptr);
  ASSERT_EQ(sk_X509_num(ca), 1);
  EXPECT_EQ(testing::CertToPem(sk_X509_value(ca, 0)), material_.chain_pem);
  EVP_PKEY_free(key);
  X509_free(cert);
  sk_X509_pop_free(ca, X509_free);
}

TEST_F(FilesTargetTest, Pkcs12RefusesPassphraseFileOthersCanRead) {
  std::string pass_file = fs::JoinPath(tmp_.path(), "p12.pass");
  ASSERT_TRUE(fs::WriteFileAtomic(pass_file, "secret\n", testing::WithMode(0644)).ok());
  config_.files = {{MaterialKind::kPkcs12, "web.p12"}};
  config_.pkcs12_passphrase_file = pass_file;
  FilesTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kPermissionDenied) << s.ToString();
  EXPECT_FALSE(fs::Exists(Path("web.p12")));
}

TEST_F(FilesTargetTest, RollbackRestoresPreviousFilesByteForByte) {
  config_.files = {{MaterialKind::kFullchain, "fullchain.pem"},
                   {MaterialKind::kKey, "privkey.pem"}};
  config_.reload = CountingReload();
  std::string old_chain = "old fullchain\n\x01\xff binary tail";
  std::string old_key = "old key";
  ASSERT_TRUE(fs::WriteFileAtomic(Path("fullchain.pem"), old_chain,
                                  testing::WithMode(0604)).ok());
  // privkey.pem does not exist before: rollback must remove it.
  FilesTarget target(config_);
  ASSERT_TRUE(target.Deploy(material_, context_).ok());
  EXPECT_EQ(Read(Path("fullchain.pem")), material_.fullchain_pem);
  EXPECT_EQ(Read(fs::JoinPath(Path(kPreviousDirName), "fullchain.pem")), old_chain);
  EXPECT_EQ(ModeOf(fs::JoinPath(Path(kPreviousDirName), "fullchain.pem")), 0600u);
  EXPECT_EQ(ModeOf(Path(kPreviousDirName)), 0700u);
  EXPECT_EQ(ReloadCount(), 1);

  Status s = target.Rollback(context_);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Read(Path("fullchain.pem")), old_chain);
  EXPECT_EQ(ModeOf(Path("fullchain.pem")), 0604u);
  EXPECT_FALSE(fs::Exists(Path("privkey.pem")));
  EXPECT_EQ(ReloadCount(), 2);
  EXPECT_EQ(ListDir(dir_), (std::set<std::string>{"fullchain.pem", kPreviousDirName}));
}

TEST_F(FilesTargetTest, RollbackRestoresSymlink) {
  config_.files = {{MaterialKind::kFullchain, "fullchain.pem"}};
  ASSERT_TRUE(fs::WriteFileAtomic(Path("real.pem"), "real").ok());
  ASSERT_EQ(symlink("real.pem", Path("fullchain.pem").c_str()), 0);
  FilesTarget target(config_);
  ASSERT_TRUE(target.Deploy(material_, context_).ok());
  EXPECT_EQ(Read(Path("real.pem")), "real");  // the link's target is left alone
  EXPECT_EQ(Read(Path("fullchain.pem")), material_.fullchain_pem);
  ASSERT_TRUE(target.Rollback(context_).ok());
  std::error_code ec;
  EXPECT_EQ(std::filesystem::read_symlink(Path("fullchain.pem"), ec).string(), "real.pem");
}

TEST_F(FilesTargetTest, FailingReloadFailsTheDeployWithItsOutput) {
  config_.files = {{MaterialKind::kFullchain, "fullchain.pem"}};
  std::string script = fs::JoinPath(tmp_.path(), "bad-reload.sh");
  ASSERT_TRUE(fs::WriteFileAtomic(script, "#!/bin/sh\necho 'config test failed' >&2\nexit 3\n",
                                  testing::WithMode(0755)).ok());
  config_.reload = {script};
  FilesTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("config test failed"), std::string::npos) << s.message();
  ASSERT_FALSE(context_.steps.empty());
  const StepRecord& last = context_.steps.back();
  EXPECT_EQ(last.kind, "reload");
  EXPECT_FALSE(last.ok);
  EXPECT_NE(last.output.find("config test failed"), std::string::npos);
}

TEST_F(FilesTargetTest, MissingDirectoryIsReported) {
  config_.directory = fs::JoinPath(tmp_.path(), "absent");
  FilesTarget target(config_);
  Status s = target.Deploy(material_, context_);
  EXPECT_EQ(s.code(), ErrorCode::kNotFound) << s.ToString();
  EXPECT_TRUE(target.Rollback(context_).ok());
}

TEST_F(FilesTargetTest, SetsOwnerAndGroupByName) {
  if (geteuid() != 0) GTEST_SKIP() << "chown needs root";
  Result<uid_t> nobody = ResolveUser("nobody");
  Result<gid_t> nogroup = ResolveGroup("nogroup");
  ASSERT_TRUE(nobody.ok() && nogroup.ok());
  config_.files = {{MaterialKind::kKey, "privkey.pem"}};
  config_.owner = "nobody";
  config_.group = "nogroup";
  FilesTarget target(config_);
  ASSERT_TRUE(target.Deploy(material_, context_).ok());
  struct stat st;
  ASSERT_EQ(stat(Path("privkey.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, *nobody);
  EXPECT_EQ(st.st_gid, *nogroup);
}

TEST_F(FilesTargetTest, UnknownOwnerIsNamed) {
  config_.owner = "no-such-user-certkeeper";
  FilesTarget target(config_);
  Status s = target.Deploy(material_, context_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no-such-user-certkeeper"), std::string::npos);
}

}  // namespace
}  // namespace certkeeper::hooks
