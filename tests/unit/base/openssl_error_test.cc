#include "base/openssl_error.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

#include <gtest/gtest.h>

namespace certkeeper {
namespace {

// A real failure leaves OpenSSL's own reason on the queue.
void FailToParseACertificate() {
  const unsigned char garbage[] = {0x30, 0x03, 0x02, 0x01};
  const unsigned char* p = garbage;
  X509* cert = d2i_X509(nullptr, &p, sizeof garbage);
  ASSERT_EQ(cert, nullptr);
}

TEST(OpenSslErrorsTest, EmptyQueueGivesTheFallback) {
  ERR_clear_error();
  EXPECT_EQ(OpenSslErrors(), "no detail from OpenSSL");
  EXPECT_EQ(OpenSslErrors("the connection was closed"), "the connection was closed");
}

TEST(OpenSslErrorsTest, DrainsEveryEntryOldestFirst) {
  ERR_clear_error();
  FailToParseACertificate();
  unsigned long oldest = ERR_peek_error();
  ASSERT_NE(oldest, 0u);
  char oldest_text[256];
  ERR_error_string_n(oldest, oldest_text, sizeof oldest_text);
  ERR_raise_data(ERR_LIB_SSL, ERR_R_INTERNAL_ERROR, "second");

  std::string text = OpenSslErrors();
  EXPECT_EQ(text.rfind(oldest_text, 0), 0u) << text;  // starts with the oldest
  EXPECT_NE(text.find("; "), std::string::npos) << text;
  EXPECT_EQ(ERR_peek_error(), 0u) << "the queue is left empty";
  EXPECT_EQ(OpenSslErrors(), "no detail from OpenSSL");
}

}  // namespace
}  // namespace certkeeper
