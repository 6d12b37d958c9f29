#include "hooks/target_config.h"

#include <set>
#include <string>

#include "base/names.h"
#include "hooks/endpoint.h"
#include "hooks/remote_shell.h"

namespace certkeeper::hooks {

namespace {

struct KindName {
  MaterialKind kind;
  std::string_view name;
};
constexpr KindName kKindNames[] = {
    {MaterialKind::kCert, "cert"},         {MaterialKind::kChain, "chain"},
    {MaterialKind::kFullchain, "fullchain"}, {MaterialKind::kKey, "key"},
    {MaterialKind::kCombined, "combined"}, {MaterialKind::kPkcs12, "pkcs12"},
};

// Collects the first problem found, prefixed with the target and the field.
class Checker {
 public:
  explicit Checker(const TargetConfig& config) : config_(config) {}

  void Fail(std::string_view field, std::string_view problem, std::string_view hint = {}) {
    if (!status_.ok()) return;
    status_ = Status(ErrorCode::kInvalidArgument,
                     "deploy target \"" + config_.name + "\": " + std::string(field) +
                         ": " + std::string(problem));
    if (!hint.empty()) status_.Hint(std::string(hint));
  }

  void AbsolutePath(std::string_view field, const std::string& path) {
    if (path.empty()) {
      Fail(field, "is required");
    } else if (path.front() != '/') {
      Fail(field, "must be an absolute path, not \"" + path + "\"");
    } else if (HasControlCharacter(path)) {
      Fail(field, "contains a control character");
    }
  }

  void Argv(std::string_view field, const std::vector<std::string>& argv, bool required) {
    if (argv.empty()) {
      if (required) Fail(field, "is required: a program and its arguments");
      return;
    }
    if (argv.front().empty()) Fail(field, "the program name (first element) is empty");
    for (const std::string& arg : argv) {
      if (arg.find('\0') != std::string::npos) Fail(field, "an argument contains a NUL byte");
    }
  }

  // Host and user names end up as ssh arguments: nothing that ssh could read as
  // an option, and nothing a terminal or a log could be fooled by.
  void SshWord(std::string_view field, const std::string& word, bool required) {
    if (word.empty()) {
      if (required) Fail(field, "is required");
      return;
    }
    if (word.front() == '-') Fail(field, "must not start with '-'");
    for (char c : word) {
      if (c == ' ' || c == '@' || static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        Fail(field, "contains a space, '@' or a control character");
        return;
      }
    }
  }

  Status status() const { return status_; }

 private:
  const TargetConfig& config_;
  Status status_;
};

}  // namespace

Result<TargetType> ParseTargetType(std::string_view name) {
  if (name == "files") return TargetType::kFiles;
  if (name == "command") return TargetType::kCommand;
  if (name == "ssh") return TargetType::kSsh;
  return Status(ErrorCode::kInvalidArgument,
                "unknown deploy target type \"" + std::string(name) + "\"")
      .Hint("use one of: files, command, ssh");
}

std::string_view TargetTypeName(TargetType type) {
  switch (type) {
    case TargetType::kFiles: return "files";
    case TargetType::kCommand: return "command";
    case TargetType::kSsh: return "ssh";
  }
  return "unknown";
}

Result<MaterialKind> ParseMaterialKind(std::string_view name) {
  for (const KindName& k : kKindNames) {
    if (k.name == name) return k.kind;
  }
  return Status(ErrorCode::kInvalidArgument,
                "unknown file kind \"" + std::string(name) + "\"")
      .Hint("use one of: cert, chain, fullchain, key, combined, pkcs12");
}

std::string_view MaterialKindName(MaterialKind kind) {
  for (const KindName& k : kKindNames) {
    if (k.kind == kind) return k.name;
  }
  return "unknown";
}

bool ContainsPrivateKey(MaterialKind kind) {
  return kind == MaterialKind::kKey || kind == MaterialKind::kCombined ||
         kind == MaterialKind::kPkcs12;
}

Result<mode_t> ParseFileMode(std::string_view text) {
  std::string_view digits = text;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'o' || digits[1] == 'O')) {
    digits.remove_prefix(2);
  }
  if (digits.empty() || digits.size() > 4) {
    return Status(ErrorCode::kInvalidArgument,
                  "file mode \"" + std::string(text) + "\" is not an octal mode like \"0640\"");
  }
  mode_t mode = 0;
  for (char c : digits) {
    if (c < '0' || c > '7') {
      return Status(ErrorCode::kInvalidArgument,
                    "file mode \"" + std::string(text) + "\" is not an octal mode like \"0640\"");
    }
    mode = mode * 8 + static_cast<mode_t>(c - '0');
  }
  if (mode > 0777) {
    return Status(ErrorCode::kInvalidArgument,
                  "file mode \"" + std::string(text) + "\" sets setuid/setgid/sticky bits");
  }
  return mode;
}

std::map<MaterialKind, std::string> DefaultFiles() {
  return {{MaterialKind::kCert, "cert.pem"},
          {MaterialKind::kChain, "chain.pem"},
          {MaterialKind::kFullchain, "fullchain.pem"},
          {MaterialKind::kKey, "privkey.pem"}};
}

std::map<MaterialKind, std::string> EffectiveFiles(const TargetConfig& config) {
  return config.files.empty() ? DefaultFiles() : config.files;
}

Status Validate(const TargetConfig& config) {
  Checker check(config);
  if (Status s = ValidateCertificateName(config.name); !s.ok()) {
    check.Fail("name", s.message());
  }

  if (config.type == TargetType::kFiles || config.type == TargetType::kSsh) {
    std::set<std::string> seen;
    for (const auto& [kind, file] : EffectiveFiles(config)) {
      std::string field = "files." + std::string(MaterialKindName(kind));
      if (file.empty() || file == "." || file == "..") {
        check.Fail(field, "is not a file name");
      } else if (file.find('/') != std::string::npos) {
        check.Fail(field, "\"" + file + "\" must be a plain file name without '/'",
                   "put the directory into `directory` (or `remote_directory`)");
      } else if (HasControlCharacter(file)) {
        check.Fail(field, "contains a control character");
      } else if (!seen.insert(file).second) {
        check.Fail(field, "\"" + file + "\" is used for two kinds of file");
      }
      if (kind == MaterialKind::kPkcs12) {
        check.AbsolutePath("pkcs12_passphrase_file", config.pkcs12_passphrase_file);
      }
    }
    if (config.mode > 0777) check.Fail("mode", "is not a permission mode");
    if (config.mode & 0007) {
      check.Fail("mode", "gives others access to the private key",
                 "use \"0600\", or \"0640\" with a `group` that may read it");
    }
  }

  if (config.timeout.count() <= 0) check.Fail("timeout", "must be positive");
  if (config.verify_timeout.count() <= 0) check.Fail("verify_timeout", "must be positive");
  if (config.verify_retries < 1 || config.verify_retries > 100) {
    check.Fail("verify_retries", "must be between 1 and 100");
  }
  for (const std::string& endpoint : config.verify) {
    if (auto parsed = ParseEndpoint(endpoint); !parsed.ok()) {
      check.Fail("verify", parsed.status().message());
    }
  }

  switch (config.type) {
    case TargetType::kFiles:
      check.AbsolutePath("directory", config.directory);
      check.Argv("reload", config.reload, /*required=*/false);
      break;
    case TargetType::kCommand:
      check.Argv("command", config.command, /*required=*/true);
      break;
    case TargetType::kSsh: {
      const SshConfig& ssh = config.ssh;
      check.SshWord("host", ssh.host, /*required=*/true);
      check.SshWord("user", ssh.user, /*required=*/false);
      if (ssh.port < 1 || ssh.port > 65535) check.Fail("port", "must be 1-65535");
      check.AbsolutePath("identity_file", ssh.identity_file);
      check.AbsolutePath("known_hosts", ssh.known_hosts);
      if (ssh.remote_directory.empty()) {
        check.Fail("remote_directory", "is required");
      } else if (HasControlCharacter(ssh.remote_directory)) {
        check.Fail("remote_directory", "contains a control character");
      }
      check.Argv("remote_reload", ssh.remote_reload, /*required=*/false);
      for (const std::string& arg : ssh.remote_reload) {
        if (HasControlCharacter(arg)) {
          check.Fail("remote_reload", "an argument contains a control character");
        }
      }
      if (ssh.connect_timeout.count() <= 0) check.Fail("connect_timeout", "must be positive");
      break;
    }
  }
  return check.status();
}

}  // namespace certkeeper::hooks
