// A token's hash: what the store keeps of a token and looks it up by. It must stay
// SHA-256 in lower-case hex, or every token already stored stops working.

#include "control/auth.h"

#include <gtest/gtest.h>

namespace sw {
namespace {

TEST(HashTokenTest, IsSha256InLowerCaseHex) {
  // FIPS 180-2's test vectors.
  EXPECT_EQ(HashToken("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(HashToken(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HashToken("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(HashTokenTest, DiffersForSecretsThatDifferInOneCharacter) {
  const std::string secret = NewTokenSecret();
  std::string other = secret;
  other.back() = other.back() == 'A' ? 'B' : 'A';
  EXPECT_NE(HashToken(secret), HashToken(other));
  EXPECT_EQ(HashToken(secret), HashToken(secret));
}

}  // namespace
}  // namespace sw
