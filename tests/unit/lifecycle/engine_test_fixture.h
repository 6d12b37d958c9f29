// The setting the engine tests share: a temporary state directory, a fake
// clock at now (whole seconds), a test PKI, the scripted CA behind the
// HttpClient seam (tests/unit/acme/fake_ca.h) and a config that points at it;
// opening the engine over them and importing a certificate into it.
#ifndef CERTKEEPER_TESTS_UNIT_LIFECYCLE_ENGINE_TEST_FIXTURE_H_
#define CERTKEEPER_TESTS_UNIT_LIFECYCLE_ENGINE_TEST_FIXTURE_H_

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "base/clock.h"
#include "base/fs.h"
#include "lifecycle/config.h"
#include "lifecycle/engine.h"
#include "tests/unit/acme/fake_ca.h"
#include "tests/unit/hooks/test_pki.h"

namespace certkeeper::lifecycle::testing {

// Base is ::testing::Test or a ::testing::TestWithParam<...>.
template <typename Base = ::testing::Test>
class EngineTest : public Base {
 protected:
  // Sets the clock to now, the test PKI's certificates starting `pki_age`
  // ago, the CA, and config_'s state directory and ACME server. MUST run
  // before anything else of the fixture is used.
  void SetUpEngineTest(Duration pki_age = Duration::zero()) {
    now_ = std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
    clock_ = std::make_unique<FakeClock>(now_);
    pki_ = hooks::testing::TestPki::Create(now_ - pki_age);
    ca_ = std::make_shared<acme::testing::FakeCa>(pki_.intermediate.cert_pem);
    config_.state_dir = dir_.path() + "/state";
    config_.acme.server = ca_->directory_url();
  }

  // The terms are agreed and orders that get past newOrder fail at the
  // solver: no port is bound and nothing runs but /bin/false.
  void UseFailingSolver() {
    config_.acme.agree_tos = true;
    SolverSettings dns;
    dns.type = "dns-01";
    dns.provider = "exec";
    dns.command = {"/bin/false"};
    config_.solvers["dns-01"] = dns;
  }

  // A new Engine over config_, as a new process opens it; null (and the test
  // failed) when it does not open.
  std::unique_ptr<Engine> OpenEngine() {
    auto engine = Engine::Open(config_, clock_.get(), ca_);
    EXPECT_TRUE(engine.ok()) << engine.status().ToString();
    return engine.ok() ? std::move(*engine) : nullptr;
  }

  // Writes m's full chain and key to dir_/import/<name> and imports that
  // directory with `engine`; a failing step fails the test.
  void ImportMaterial(Engine& engine, const std::string& name, const hooks::Material& m) {
    std::string from = dir_.path() + "/import/" + name;
    ASSERT_TRUE(fs::MakeDirs(from, 0700).ok());
    ASSERT_TRUE(fs::WriteFileAtomic(from + "/fullchain.pem", m.fullchain_pem).ok());
    ASSERT_TRUE(fs::WritePrivateFile(from + "/privkey.pem", m.key_pem).ok());
    auto imported = engine.Import({from});
    ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  }

  fs::TempDir dir_;
  TimePoint now_;
  std::unique_ptr<FakeClock> clock_;
  hooks::testing::TestPki pki_;
  std::shared_ptr<acme::testing::FakeCa> ca_;
  Config config_;
};

}  // namespace certkeeper::lifecycle::testing

#endif  // CERTKEEPER_TESTS_UNIT_LIFECYCLE_ENGINE_TEST_FIXTURE_H_
