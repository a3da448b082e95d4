// SecretBox: sealed values open under the same key and context only, keys parse from
// hex and base64, and a box holding an older key opens what it sealed.
#include "store/secret_box.h"

#include <gtest/gtest.h>

namespace sw {
namespace {

TEST(SecretBoxTest, SealsAndOpensInItsContextOnly) {
  SecretBox box({SecretBox::NewKey()});
  const std::string sealed = box.Seal("refresh-token-1", "connection/c1/refresh_token");
  EXPECT_EQ(sealed.find("refresh-token-1"), std::string::npos);
  EXPECT_TRUE(sealed.starts_with("swsec1."));
  EXPECT_EQ(*box.Open(sealed, "connection/c1/refresh_token"), "refresh-token-1");
  EXPECT_EQ(box.Open(sealed, "connection/c2/refresh_token").status().reason(), "secret_unreadable");
  EXPECT_NE(box.Seal("x", "c"), box.Seal("x", "c"));  // a fresh nonce each time
  EXPECT_EQ(box.Seal("", "c"), "");
  EXPECT_EQ(*box.Open("", "c"), "");
}

TEST(SecretBoxTest, AnAlteredOrForeignValueDoesNotOpen) {
  SecretBox box({SecretBox::NewKey()});
  std::string sealed = box.Seal("secret", "ctx");
  sealed[sealed.size() - 2] = sealed[sealed.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(box.Open(sealed, "ctx").ok());
  SecretBox other({SecretBox::NewKey()});
  EXPECT_FALSE(other.Open(box.Seal("secret", "ctx"), "ctx").ok());
  EXPECT_FALSE(box.Open("plain text", "ctx").ok());
}

TEST(SecretBoxTest, AnOlderKeyStillOpensWhatItSealed) {
  const SecretBox::Key old_key = SecretBox::NewKey();
  const std::string sealed = SecretBox({old_key}).Seal("secret", "ctx");
  SecretBox rotated({SecretBox::NewKey(), old_key});
  EXPECT_EQ(*rotated.Open(sealed, "ctx"), "secret");
  EXPECT_FALSE(rotated.SealedWithCurrentKey(sealed));
  EXPECT_TRUE(rotated.SealedWithCurrentKey(rotated.Seal("secret", "ctx")));
}

TEST(SecretBoxTest, KeysParseFromHexAndBase64) {
  const SecretBox::Key key = SecretBox::NewKey();
  EXPECT_EQ(*SecretBox::ParseKey(SecretBox::FormatKey(key) + "\n"), key);
  EXPECT_TRUE(SecretBox::ParseKey("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").ok());
  EXPECT_FALSE(SecretBox::ParseKey("too-short").ok());
  EXPECT_FALSE(SecretBox::ParseKey(std::string(64, 'z')).ok());
}

}  // namespace
}  // namespace sw
