// SHA-256 against the FIPS 180-4 example vectors, and split-independence of update().
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "intrinsix/sha256.h"

namespace intrinsix {
namespace {

TEST(Sha256, StandardVectors) {
  EXPECT_EQ(sha256_hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";  // 448 bits
  EXPECT_EQ(sha256_hex(two_blocks.data(), two_blocks.size()),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, OneMillionA) {
  Sha256 hash;
  const std::string thousand(1000, 'a');
  for (int i = 0; i < 1000; ++i) hash.update(thousand.data(), thousand.size());
  EXPECT_EQ(hash.finish_hex(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingBoundaries) {
  // Lengths around the 55/56/64-byte padding edges, fed whole and byte by byte, must agree.
  for (size_t length : {55u, 56u, 57u, 63u, 64u, 65u, 119u, 120u, 128u}) {
    const std::string message(length, 'x');
    Sha256 bytewise;
    for (char c : message) bytewise.update(&c, 1);
    EXPECT_EQ(bytewise.finish_hex(), sha256_hex(message.data(), message.size())) << "length " << length;
  }
  // 64 x "a": one full block plus a padding block (value from Python hashlib.sha256).
  const std::string sixty_four(64, 'a');
  EXPECT_EQ(sha256_hex(sixty_four.data(), 64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

TEST(Sha256, RandomSplitsGiveTheSameDigest) {
  std::mt19937 random(7);
  std::vector<uint8_t> data(10000);
  for (uint8_t& b : data) b = uint8_t(random());
  const std::string whole = sha256_hex(data.data(), data.size());
  for (int trial = 0; trial < 20; ++trial) {
    Sha256 hash;
    size_t at = 0;
    while (at < data.size()) {
      const size_t take = std::min<size_t>(data.size() - at, random() % 300);
      hash.update(data.data() + at, take);
      at += take;
    }
    EXPECT_EQ(hash.finish_hex(), whole);
  }
}

TEST(Sha256, MisuseIsRefused) {
  Sha256 hash;
  hash.update("a", 1);
  hash.finish();
  EXPECT_THROW(hash.update("b", 1), std::logic_error);
  EXPECT_THROW(hash.finish(), std::logic_error);
}

}  // namespace
}  // namespace intrinsix
