#include "hooks/target_config.h"

#include <gtest/gtest.h>

#include <functional>

namespace certkeeper::hooks {
namespace {

TargetConfig FilesConfig() {
  TargetConfig c;
  c.name = "nginx";
  c.type = TargetType::kFiles;
  c.directory = "/etc/nginx/certs/web";
  c.files = {{MaterialKind::kFullchain, "fullchain.pem"}, {MaterialKind::kKey, "privkey.pem"}};
  c.mode = 0640;
  c.reload = {"systemctl", "reload", "nginx"};
  c.verify = {"127.0.0.1:443"};
  return c;
}

TargetConfig SshConfigured() {
  TargetConfig c;
  c.name = "edge";
  c.type = TargetType::kSsh;
  c.ssh.host = "edge1.example.com";
  c.ssh.user = "deploy";
  c.ssh.identity_file = "/etc/certkeeper/id_ed25519";
  c.ssh.known_hosts = "/etc/certkeeper/known_hosts";
  c.ssh.remote_directory = "/etc/ssl/web";
  c.ssh.remote_reload = {"sudo", "systemctl", "reload", "nginx"};
  return c;
}

struct ValidateCase {
  const char* meaning;
  std::function<TargetConfig()> make;
  const char* field;  // nullptr: valid
};

class ValidateTest : public ::testing::TestWithParam<ValidateCase> {};

TEST_P(ValidateTest, NamesTheBadField) {
  const ValidateCase& c = GetParam();
  Status s = Validate(c.make());
  if (c.field == nullptr) {
    EXPECT_TRUE(s.ok()) << s.ToString();
    return;
  }
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.message().find(std::string(c.field) + ":"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("deploy target"), std::string::npos) << s.message();
}

INSTANTIATE_TEST_SUITE_P(
    Table, ValidateTest,
    ::testing::Values(
        ValidateCase{"files_ok", FilesConfig, nullptr},
        ValidateCase{"ssh_ok", SshConfigured, nullptr},
        ValidateCase{"command_ok", [] {
                       TargetConfig c;
                       c.name = "push";
                       c.type = TargetType::kCommand;
                       c.command = {"/usr/local/bin/push-cert"};
                       return c;
                     }, nullptr},
        ValidateCase{"bad_name", [] { auto c = FilesConfig(); c.name = "../x"; return c; }, "name"},
        ValidateCase{"relative_directory", [] { auto c = FilesConfig(); c.directory = "certs"; return c; }, "directory"},
        ValidateCase{"missing_directory", [] { auto c = FilesConfig(); c.directory.clear(); return c; }, "directory"},
        ValidateCase{"file_with_slash", [] { auto c = FilesConfig(); c.files[MaterialKind::kKey] = "../key.pem"; return c; }, "files.key"},
        ValidateCase{"file_dotdot", [] { auto c = FilesConfig(); c.files[MaterialKind::kKey] = ".."; return c; }, "files.key"},
        ValidateCase{"file_newline", [] { auto c = FilesConfig(); c.files[MaterialKind::kCert] = "a\nb"; return c; }, "files.cert"},
        ValidateCase{"same_name_twice", [] { auto c = FilesConfig(); c.files[MaterialKind::kKey] = "fullchain.pem"; return c; }, "files.key"},
        ValidateCase{"pkcs12_without_passphrase", [] { auto c = FilesConfig(); c.files[MaterialKind::kPkcs12] = "a.p12"; return c; }, "pkcs12_passphrase_file"},
        ValidateCase{"key_readable_by_others", [] { auto c = FilesConfig(); c.mode = 0644; return c; }, "mode"},
        ValidateCase{"empty_reload_program", [] { auto c = FilesConfig(); c.reload = {""}; return c; }, "reload"},
        ValidateCase{"verify_without_port", [] { auto c = FilesConfig(); c.verify = {"127.0.0.1"}; return c; }, "verify"},
        ValidateCase{"zero_verify_retries", [] { auto c = FilesConfig(); c.verify_retries = 0; return c; }, "verify_retries"},
        ValidateCase{"zero_timeout", [] { auto c = FilesConfig(); c.timeout = std::chrono::milliseconds(0); return c; }, "timeout"},
        ValidateCase{"command_missing", [] { TargetConfig c; c.name = "x"; c.type = TargetType::kCommand; return c; }, "command"},
        ValidateCase{"ssh_host_option", [] { auto c = SshConfigured(); c.ssh.host = "-oProxyCommand=x"; return c; }, "host"},
        ValidateCase{"ssh_host_missing", [] { auto c = SshConfigured(); c.ssh.host.clear(); return c; }, "host"},
        ValidateCase{"ssh_user_with_at", [] { auto c = SshConfigured(); c.ssh.user = "a@b"; return c; }, "user"},
        ValidateCase{"ssh_port", [] { auto c = SshConfigured(); c.ssh.port = 70000; return c; }, "port"},
        ValidateCase{"ssh_identity_relative", [] { auto c = SshConfigured(); c.ssh.identity_file = "id"; return c; }, "identity_file"},
        ValidateCase{"ssh_known_hosts_missing", [] { auto c = SshConfigured(); c.ssh.known_hosts.clear(); return c; }, "known_hosts"},
        ValidateCase{"ssh_remote_dir_newline", [] { auto c = SshConfigured(); c.ssh.remote_directory = "/a\n/b"; return c; }, "remote_directory"},
        ValidateCase{"ssh_reload_newline", [] { auto c = SshConfigured(); c.ssh.remote_reload = {"echo", "a\nrm -rf /"}; return c; }, "remote_reload"}),
    [](const auto& info) { return std::string(info.param.meaning); });

TEST(ParseTest, TypesKindsAndModes) {
  EXPECT_EQ(*ParseTargetType("ssh"), TargetType::kSsh);
  EXPECT_FALSE(ParseTargetType("ftp").ok());
  EXPECT_EQ(*ParseMaterialKind("combined"), MaterialKind::kCombined);
  EXPECT_FALSE(ParseMaterialKind("keys").ok());
  EXPECT_EQ(*ParseFileMode("0640"), 0640u);
  EXPECT_EQ(*ParseFileMode("600"), 0600u);
  EXPECT_EQ(*ParseFileMode("0o600"), 0600u);
  EXPECT_FALSE(ParseFileMode("0986").ok());
  EXPECT_FALSE(ParseFileMode("4755").ok());
  EXPECT_FALSE(ParseFileMode("").ok());
}

}  // namespace
}  // namespace certkeeper::hooks
