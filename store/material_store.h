// MaterialStore: the files a fleet's hosts share through the inventory.
//
// Part of store::Inventory (store/inventory.h), whose general contract
// (atomicity, thread-safety, kNotFound vs kIo) applies here.
//
// On one host the files under the state directory are the record and this
// part stays empty. When hosts share one inventory (PostgreSQL), the host that
// registers an account, creates an order or issues a version also puts its
// files here, and every other host materializes them under its own state
// directory. The store keeps bytes as given: the caller seals private keys
// (AES-256-GCM, base/sealing.h) before they reach it and marks them `sealed`.
#ifndef CERTKEEPER_STORE_MATERIAL_STORE_H_
#define CERTKEEPER_STORE_MATERIAL_STORE_H_

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace certkeeper::store {

struct MaterialFile {
  std::string name;     // a plain file name: "fullchain.pem", "privkey.pem", ...
  std::string content;  // text (PEM, or a sealed value); never holds a NUL byte
  bool sealed = false;  // content is a sealed value, not the file itself
};

// Owners of material.
std::string AccountMaterial(std::string_view server, std::string_view account_url);
std::string VersionMaterial(std::string_view certificate, int n);
std::string PendingOrderMaterial(std::string_view certificate);

class MaterialStore {
 public:
  virtual ~MaterialStore() = default;

  // Replaces every file kept for `owner` with `files` (in one step). File
  // names MUST be plain (no '/', not "." or "..") and unique; content MUST NOT
  // hold a NUL byte; otherwise kInvalidArgument and nothing changes.
  virtual Status PutMaterial(std::string_view owner,
                             const std::vector<MaterialFile>& files) = 0;
  // The files kept for `owner`, by name; empty when there are none.
  virtual Result<std::vector<MaterialFile>> GetMaterial(std::string_view owner) = 0;
  virtual Status DeleteMaterial(std::string_view owner) = 0;
};

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_MATERIAL_STORE_H_
