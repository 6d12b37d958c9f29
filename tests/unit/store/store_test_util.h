// Shared setup for the store unit tests: a temporary state directory, a fake
// clock, an opened inventory, and well-formed sample records.
//
// The same tests run against both engines: store_unit_test opens SQLite in
// the temporary directory; store_postgres_test (built with
// CERTKEEPER_STORE_POSTGRES) opens the real PostgreSQL its main started,
// emptied before each test (tests/unit/store/postgres_main.cc).
#ifndef CERTKEEPER_TESTS_UNIT_STORE_STORE_TEST_UTIL_H_
#define CERTKEEPER_TESTS_UNIT_STORE_STORE_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/fs.h"
#include "store/internal/postgres.h"
#include "store/internal/sql.h"
#include "store/sql_inventory.h"

namespace certkeeper::store::testing {

// 2026-01-01T00:00:00Z
inline TimePoint T0() { return FromUnixSeconds(1767225600); }

inline CertificateSpec SampleSpec(const std::string& name) {
  CertificateSpec spec;
  spec.name = name;
  spec.domains = {name + ".example.com", "www." + name + ".example.com"};
  spec.key_type = "ec256";
  spec.challenges = {"http-01", "dns-01"};
  spec.deploy_targets = {"local-nginx"};
  spec.server = "https://127.0.0.1:14000/dir";
  return spec;
}

inline Version SampleVersion(const std::string& certificate, int n) {
  Version v;
  v.certificate = certificate;
  v.n = n;
  v.serial = "0a1b" + std::to_string(n);
  v.not_before = T0() + std::chrono::hours(24 * n);
  v.not_after = v.not_before + std::chrono::hours(24 * 90);
  v.issuer = "CN=Pebble Intermediate CA";
  v.fingerprint_sha256 = std::string(64, 'a');
  v.domains = {certificate + ".example.com"};
  v.key_type = "ec256";
  v.directory = "/state/archive/" + certificate + "/" + std::to_string(n);
  v.order_url = "https://127.0.0.1:14000/order/" + std::to_string(n);
  v.state = VersionState::kIssued;
  return v;
}

// Whether this binary tests PostgreSQL (CERTKEEPER_STORE_POSTGRES).
inline bool TestingPostgres() {
#ifdef CERTKEEPER_STORE_POSTGRES
  return true;
#else
  return false;
#endif
}

// The PostgreSQL under test: CERTKEEPER_TEST_POSTGRES_URL and the password in
// CERTKEEPER_TEST_POSTGRES_PASSWORD_FILE (set by postgres_main.cc).
inline PostgresOptions TestPostgresOptions(Clock* clock) {
  PostgresOptions options;
  const char* url = getenv("CERTKEEPER_TEST_POSTGRES_URL");
  const char* password_file = getenv("CERTKEEPER_TEST_POSTGRES_PASSWORD_FILE");
  options.url = url ? url : "";
  if (password_file) {
    auto password = fs::ReadFile(password_file);
    if (password.ok()) {
      options.password = *password;
      while (!options.password.empty() && options.password.back() == '\n') {
        options.password.pop_back();
      }
    }
  }
  options.clock = clock;
  options.migrate = true;
  return options;
}

// Drops every table of the PostgreSQL under test.
inline Status EmptyTestPostgres() {
  PostgresOptions options = TestPostgresOptions(RealClock());
  CK_ASSIGN_OR_RETURN(std::unique_ptr<internal::Database> db,
                      internal::OpenPostgresDatabase(options.url, options.password, 10));
  return db->Exec("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public",
                  "empty the test database");
}

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (TestingPostgres()) {
      Status emptied = EmptyTestPostgres();
      ASSERT_TRUE(emptied.ok()) << emptied.ToString();
    }
    auto opened = OpenAgain();
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    inv_ = std::move(opened).value();
  }

  // Another connection to the same inventory (the same file, or the same
  // PostgreSQL database).
  Result<std::unique_ptr<SqlInventory>> OpenAgain() {
    if (TestingPostgres()) return SqlInventory::OpenPostgres(TestPostgresOptions(&clock_));
    return SqlInventory::Open(db_path(), Options());
  }

  SqliteOptions Options() {
    SqliteOptions options;
    options.clock = &clock_;
    return options;
  }
  std::string db_path() const { return InventoryPath(dir_.path()); }

  // Adds a certificate or fails the test.
  void AddCertificate(const std::string& name) {
    Status s = inv_->PutCertificate(SampleSpec(name));
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  fs::TempDir dir_;
  FakeClock clock_{T0()};
  std::unique_ptr<SqlInventory> inv_;
};

}  // namespace certkeeper::store::testing

#endif  // CERTKEEPER_TESTS_UNIT_STORE_STORE_TEST_UTIL_H_
