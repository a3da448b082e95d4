// SecretBox encrypts the secrets the store keeps at rest (a connection's client secret
// and tokens, an authorization flow's PKCE verifier) with libsodium's
// XChaCha20-Poly1305 AEAD under a 32-byte key kept outside the database.
//
// The key comes from `STEPWELL_SECRET_KEY` (64 hex digits or base64 of 32 bytes) when
// set, else from DIR/secret.key (created, mode 0600, on first use). A sealed value is
// "swsec1.<key id>.<base64 of nonce and ciphertext>"; the key id (8 hex digits of the
// key's BLAKE2b hash) lets a box hold older keys beside the current one, so a rotation
// can re-encrypt what the old key sealed (docs/connections.md). Each value is bound to
// its place (`context`, e.g. "connection/conn_…/refresh_token"): a ciphertext copied to
// another row or field does not open.
//
// Thread-safe (immutable after construction).
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sw {

inline constexpr char kSecretKeyFile[] = "secret.key";
inline constexpr char kSecretKeyEnv[] = "STEPWELL_SECRET_KEY";

class SecretBox {
 public:
  using Key = std::array<unsigned char, 32>;

  // The first key seals; every key opens what it sealed.
  explicit SecretBox(std::vector<Key> keys);

  // The key of `data_dir` (see above), plus the keys a rotation left beside it
  // (DIR/secret.key.next while one is under way, DIR/secret.key.previous after).
  static Result<std::shared_ptr<const SecretBox>> ForDataDir(const std::string& data_dir);
  // A fresh random key.
  static Key NewKey();
  // Parses 64 hex digits or base64 of 32 bytes.
  static Result<Key> ParseKey(std::string_view text);
  static std::string FormatKey(const Key& key);  // 64 hex digits
  // Writes `key` to `path` with mode 0600, durably (write, fsync, rename).
  static Status WriteKeyFile(const std::string& path, const Key& key);

  // "" seals to "" (an absent secret stays absent).
  std::string Seal(std::string_view plaintext, std::string_view context) const;
  // kInternal "secret_unreadable" when the value was sealed under a key this box does
  // not hold, for another context, or was altered.
  Result<std::string> Open(std::string_view sealed, std::string_view context) const;
  // True when `sealed` is sealed under the current key.
  bool SealedWithCurrentKey(std::string_view sealed) const;
  // The keys, the sealing one first.
  std::vector<Key> keys() const;

 private:
  struct Entry {
    Key key;
    std::string id;
  };
  std::vector<Entry> keys_;
};

}  // namespace sw
