// main() of store_postgres_test: the store suite against a real PostgreSQL.
//
// It starts pebble-testenv with PostgreSQL (initdb in a scratch directory, a
// free port on 127.0.0.1, stopped by PID when the tests end) unless
// CERTKEEPER_TEST_POSTGRES_URL already names a server, and hands the URL and
// password file to the fixture (store_test_util.h) through the environment.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <memory>

#include "tests/support/testenv.h"

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  std::unique_ptr<certkeeper::testing::TestEnv> env;
  if (getenv("CERTKEEPER_TEST_POSTGRES_URL") == nullptr) {
    certkeeper::testing::TestEnvOptions options;
    options.postgres = true;
    env = certkeeper::testing::TestEnv::Start(options);
    if (env == nullptr) return 1;
    setenv("CERTKEEPER_TEST_POSTGRES_URL", env->Get("POSTGRES_URL").c_str(), 1);
    setenv("CERTKEEPER_TEST_POSTGRES_PASSWORD_FILE", env->Get("POSTGRES_PASSWORD_FILE").c_str(),
           1);
  }
  int rc = RUN_ALL_TESTS();
  env.reset();
  return rc;
}
