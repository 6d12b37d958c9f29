// The configuration of one deploy target: a `[[deploy]]` entry of the config file
// (see ARCHITECTURE.md, "Config file"). The CLI fills this plain struct from TOML;
// Validate() is the only gate before a target is built from it.
#ifndef CERTKEEPER_HOOKS_TARGET_CONFIG_H_
#define CERTKEEPER_HOOKS_TARGET_CONFIG_H_

#include <sys/types.h>

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace certkeeper::hooks {

enum class TargetType { kFiles, kCommand, kSsh };

// What a deployed file contains.
enum class MaterialKind {
  kCert,       // the leaf certificate, PEM
  kChain,      // the intermediates, PEM
  kFullchain,  // leaf + intermediates, PEM
  kKey,        // the private key, PKCS#8 PEM
  kCombined,   // key followed by fullchain in one PEM file (HAProxy, some proxies)
  kPkcs12,     // PKCS#12 with key, leaf and intermediates (Java, Windows)
};

// "files" | "command" | "ssh"; an error lists the accepted names.
Result<TargetType> ParseTargetType(std::string_view name);
std::string_view TargetTypeName(TargetType type);
// "cert" | "chain" | "fullchain" | "key" | "combined" | "pkcs12".
Result<MaterialKind> ParseMaterialKind(std::string_view name);
std::string_view MaterialKindName(MaterialKind kind);
// True for the kinds that contain the private key (they get TargetConfig::mode,
// every other file gets 0644).
bool ContainsPrivateKey(MaterialKind kind);
// An octal file mode as written in the config: "0640", "640" or "0o640".
Result<mode_t> ParseFileMode(std::string_view text);

struct SshConfig {
  std::string host;
  int port = 22;
  std::string user;
  std::string identity_file;     // private key for -i
  std::string known_hosts;       // UserKnownHostsFile; the host key must be in it
  std::string remote_directory;  // where the files go on the remote host
  std::vector<std::string> remote_reload;  // argv run remotely after the install
  std::chrono::seconds connect_timeout{10};
};

struct TargetConfig {
  std::string name;
  TargetType type = TargetType::kFiles;

  // files and ssh: which material is written under which file name. Names are
  // plain file names (no '/'). Empty: DefaultFiles().
  std::map<MaterialKind, std::string> files;
  std::string pkcs12_passphrase_file;  // required when files has kPkcs12

  // files: the directory that receives the files (must exist).
  std::string directory;
  mode_t mode = 0600;   // files that contain the key; certificates are 0644
  std::string owner;    // user name, resolved with getpwnam; empty: unchanged
  std::string group;    // group name, resolved with getgrnam; empty: unchanged
  std::vector<std::string> reload;  // argv run after the install; optional

  // After the reload: every "host:port" is asked, with SNI = each domain, for the
  // certificate it serves; its SHA-256 must equal the deployed leaf's.
  std::vector<std::string> verify;
  std::chrono::milliseconds verify_timeout{10000};  // total, over all retries
  int verify_retries = 8;                           // attempts per endpoint+domain

  // command: argv run with the CERTKEEPER_* environment (command_target.h).
  std::vector<std::string> command;
  // Bound for every program this target runs (reload, command, ssh).
  std::chrono::milliseconds timeout{60000};

  SshConfig ssh;
};

// cert.pem, chain.pem, fullchain.pem, privkey.pem: the state directory's layout.
std::map<MaterialKind, std::string> DefaultFiles();
// config.files, or DefaultFiles() when it is empty.
std::map<MaterialKind, std::string> EffectiveFiles(const TargetConfig& config);

// kInvalidArgument naming the target and the bad field ("deploy target
// \"nginx\": directory: must be an absolute path") when the config cannot work.
// Does not touch the file system or the network.
Status Validate(const TargetConfig& config);

}  // namespace certkeeper::hooks

#endif  // CERTKEEPER_HOOKS_TARGET_CONFIG_H_
