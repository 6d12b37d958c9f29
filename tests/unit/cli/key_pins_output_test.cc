// What `show` prints about key pins and what --json carries (docs/output.md,
// "Key pins"): the current and the staged next key's pin-sha256 and TLSA
// 3 1 1 data; `list` carries neither.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "cli/output.h"

namespace certkeeper::cli {
namespace {

using nlohmann::json;

const std::string kCurrentPin = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
const std::string kCurrentTlsa = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
const std::string kNextPin = "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
const std::string kNextTlsa = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

lifecycle::CertificateView Shown() {
  lifecycle::CertificateView c;
  c.name = "web";
  c.domains = {"web.example.com"};
  c.key_type = "ec256";
  c.status = "valid";
  c.has_key_pins = true;
  c.current_key = lifecycle::CertificateView::KeyPinsView{kCurrentPin, kCurrentTlsa};
  c.next_key = lifecycle::CertificateView::KeyPinsView{kNextPin, kNextTlsa};
  return c;
}

TEST(KeyPinsOutputTest, ShowPrintsBothPinsInPublishableForm) {
  const std::string out = RenderShow(Shown(), FromUnixSeconds(1767225600));
  EXPECT_NE(out.find("  key pin (current): pin-sha256=\"" + kCurrentPin + "\"  TLSA 3 1 1 " +
                     kCurrentTlsa + "\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("  key pin (next):    pin-sha256=\"" + kNextPin + "\"  TLSA 3 1 1 " +
                     kNextTlsa + "\n"),
            std::string::npos)
      << out;
}

TEST(KeyPinsOutputTest, ShowJsonCarriesBothAndNullForAMissingOne) {
  lifecycle::CertificateView c = Shown();
  json j = ToJson(c, FromUnixSeconds(1767225600));
  EXPECT_EQ(j["current_key"], (json{{"spki_sha256", kCurrentPin}, {"tlsa_3_1_1", kCurrentTlsa}}));
  EXPECT_EQ(j["next_key"], (json{{"spki_sha256", kNextPin}, {"tlsa_3_1_1", kNextTlsa}}));
  EXPECT_FALSE(j.contains("key_pins_error"));

  c.next_key.reset();
  c.key_pins_error = "next key: permission denied";
  j = ToJson(c, FromUnixSeconds(1767225600));
  EXPECT_TRUE(j.contains("next_key"));
  EXPECT_TRUE(j["next_key"].is_null());
  EXPECT_EQ(j["key_pins_error"], "next key: permission denied");
  const std::string out = RenderShow(c, FromUnixSeconds(1767225600));
  EXPECT_EQ(out.find("key pin (next)"), std::string::npos) << out;
  EXPECT_NE(out.find("  key pins:    next key: permission denied\n"), std::string::npos) << out;
}

TEST(KeyPinsOutputTest, ListViewsCarryNoPins) {
  lifecycle::CertificateView c = Shown();
  c.has_key_pins = false;
  c.current_key.reset();
  c.next_key.reset();
  json j = ToJson(c, FromUnixSeconds(1767225600));
  EXPECT_FALSE(j.contains("current_key"));
  EXPECT_FALSE(j.contains("next_key"));
  EXPECT_EQ(RenderShow(c, FromUnixSeconds(1767225600)).find("key pin"), std::string::npos);
}

TEST(KeyPinsOutputTest, HostileErrorTextIsEscaped) {
  lifecycle::CertificateView c = Shown();
  c.key_pins_error = "bad \x1b[2J key";
  const std::string out = RenderShow(c, FromUnixSeconds(1767225600));
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
  EXPECT_NE(out.find("bad \\x1b[2J key"), std::string::npos) << out;
}

}  // namespace
}  // namespace certkeeper::cli
