// AccountStore: the ACME accounts certkeeper registered (RFC 8555 §7.3).
//
// Used by account registration, key rollover and deactivation, and by every
// issuance to find the account to sign with. Part of store::Inventory
// (store/inventory.h), whose general contract (atomicity, thread-safety,
// kNotFound vs kIo) applies to every method here.
#ifndef CERTKEEPER_STORE_ACCOUNT_STORE_H_
#define CERTKEEPER_STORE_ACCOUNT_STORE_H_

#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/records.h"

namespace certkeeper::store {

class AccountStore {
 public:
  virtual ~AccountStore() = default;

  // Inserts the account or, when (server, account_url) exists, updates its
  // key_path, email and status (key rollover, deactivation). created_at is kept.
  virtual Status PutAccount(const Account& account) = 0;
  // The newest account with status "valid" for the server; kNotFound only when
  // there is none (a failed read is kIo: registering a second account because
  // the first could not be read would spend the CA's new-account budget).
  virtual Result<Account> FindAccount(std::string_view server) = 0;
  virtual Result<std::vector<Account>> ListAccounts() = 0;
};

}  // namespace certkeeper::store

#endif  // CERTKEEPER_STORE_ACCOUNT_STORE_H_
