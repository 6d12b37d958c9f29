#include "acme/nonce_pool.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "acme/http.h"

namespace certkeeper::acme {
namespace {

TEST(NoncePoolTest, NewestFirstAndSingleUse) {
  NoncePool pool;
  EXPECT_FALSE(pool.Take().has_value());
  EXPECT_TRUE(pool.Add("first"));
  EXPECT_TRUE(pool.Add("second"));
  EXPECT_EQ(pool.size(), 2u);
  EXPECT_EQ(pool.Take(), "second");
  EXPECT_EQ(pool.Take(), "first");
  EXPECT_FALSE(pool.Take().has_value());
}

TEST(NoncePoolTest, RejectsValuesThatAreNotBase64Url) {
  NoncePool pool;
  EXPECT_FALSE(pool.Add(""));
  EXPECT_FALSE(pool.Add("has space"));
  EXPECT_FALSE(pool.Add("pad=="));
  EXPECT_FALSE(pool.Add(std::string(600, 'a')));
  EXPECT_EQ(pool.size(), 0u);
}

TEST(NoncePoolTest, BoundedDropsOldest) {
  NoncePool pool(3);
  for (const char* n : {"a1", "a2", "a3", "a4"}) ASSERT_TRUE(pool.Add(n));
  EXPECT_EQ(pool.size(), 3u);
  EXPECT_EQ(pool.Take(), "a4");
  EXPECT_EQ(pool.Take(), "a3");
  EXPECT_EQ(pool.Take(), "a2");
  EXPECT_FALSE(pool.Take().has_value());
}

TEST(NoncePoolTest, ConcurrentTakersNeverShareANonce) {
  NoncePool pool(4000);
  for (int i = 0; i < 4000; ++i) ASSERT_TRUE(pool.Add("n" + std::to_string(i)));
  std::vector<std::vector<std::string>> taken(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      while (auto n = pool.Take()) taken[t].push_back(*n);
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  size_t count = 0;
  for (const auto& v : taken) {
    count += v.size();
    all.insert(v.begin(), v.end());
  }
  EXPECT_EQ(count, 4000u);
  EXPECT_EQ(all.size(), 4000u);
}

TEST(HttpHeadersTest, CaseInsensitiveAndMultiValued) {
  HttpHeaders h;
  h.Add("Replay-Nonce", "abc");
  h.Add("link", "<https://ca.test/a>;rel=\"alternate\"");
  h.Add("LINK", "<https://ca.test/b>; rel=alternate, <https://ca.test/dir>;rel=\"index\"");
  EXPECT_EQ(h.Get("replay-nonce"), "abc");
  EXPECT_FALSE(h.Get("Location").has_value());
  EXPECT_EQ(h.GetAll("Link").size(), 2u);
  std::vector<Link> links = ParseLinks(h);
  ASSERT_EQ(links.size(), 3u);
  EXPECT_EQ(links[0].uri, "https://ca.test/a");
  EXPECT_EQ(links[0].rel, "alternate");
  EXPECT_EQ(links[1].uri, "https://ca.test/b");
  EXPECT_EQ(links[1].rel, "alternate");
  EXPECT_EQ(links[2].rel, "index");
}

TEST(HttpHeadersTest, MalformedLinksAreSkipped) {
  HttpHeaders h;
  h.Add("Link", "https://no-brackets;rel=alternate, <https://ca.test/x>, <>;rel=up");
  EXPECT_TRUE(ParseLinks(h).empty());
}

TEST(ContentTypeTest, JsonTypes) {
  EXPECT_TRUE(IsJsonContentType("application/json"));
  EXPECT_TRUE(IsJsonContentType("application/problem+json"));
  EXPECT_TRUE(IsJsonContentType("Application/JSON; charset=utf-8"));
  EXPECT_FALSE(IsJsonContentType("text/html"));
  EXPECT_FALSE(IsJsonContentType("application/pem-certificate-chain"));
  EXPECT_FALSE(IsJsonContentType(""));
  EXPECT_FALSE(IsJsonContentType("text/json+x"));
}

}  // namespace
}  // namespace certkeeper::acme
