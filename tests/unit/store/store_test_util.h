// Shared setup for the store unit tests: a temporary state directory, a fake
// clock, an opened inventory, and well-formed sample records.
#ifndef CERTKEEPER_TESTS_UNIT_STORE_STORE_TEST_UTIL_H_
#define CERTKEEPER_TESTS_UNIT_STORE_STORE_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "base/clock.h"
#include "base/fs.h"
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

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = SqlInventory::Open(db_path(), Options());
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    inv_ = std::move(opened).value();
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
