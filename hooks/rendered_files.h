// The bytes of each file a files or ssh target delivers, built from the material.
#ifndef CERTKEEPER_HOOKS_RENDERED_FILES_H_
#define CERTKEEPER_HOOKS_RENDERED_FILES_H_

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "hooks/material.h"
#include "hooks/target_config.h"

namespace certkeeper::hooks {

struct RenderedFile {
  MaterialKind kind;
  std::string name;     // plain file name from the config
  std::string content;
  mode_t mode = 0644;   // config.mode for files with the key, 0644 otherwise
};

// One entry per EffectiveFiles(config) entry, in MaterialKind order.
// kCombined is key_pem followed by fullchain_pem; kPkcs12 is BuildPkcs12 with the
// passphrase from config.pkcs12_passphrase_file.
Result<std::vector<RenderedFile>> RenderFiles(const TargetConfig& config,
                                              const Material& material);

// The passphrase is the file's content up to its first line end. The file must
// not be readable by group or others, and the passphrase must not be empty.
Result<std::string> ReadPassphraseFile(const std::string& path);

// DER PKCS#12 (RFC 7292) holding the key, the leaf (friendly name = material name)
// and the intermediates. Key and certificates are encrypted with PBES2
// (PBKDF2-HMAC-SHA256, AES-256-CBC, RFC 8018), the MAC is HMAC-SHA256; 100000
// iterations each. Readers older than OpenSSL 1.1.1 / Java 11.0.12 cannot open it.
Result<std::string> BuildPkcs12(const Material& material, std::string_view passphrase);

}  // namespace certkeeper::hooks

#endif  // CERTKEEPER_HOOKS_RENDERED_FILES_H_
