#include "control/auth.h"

#include <openssl/rand.h>
#include <sodium.h>

#include <array>

namespace sw {

namespace {

// A credential the store did not find is refused (401 `unauthorized`, `message`); a store
// that could not look (the database out of reach) is not a verdict on the credential,
// and its error goes to the caller as it is (503).
Status Unrecognised(const Status& lookup, const char* message) {
  if (lookup.code() == StatusCode::kUnavailable) {
    return lookup;
  }
  return Status(StatusCode::kUnauthenticated, message, "unauthorized");
}

}  // namespace

std::string NewTokenSecret() {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::array<unsigned char, 43> bytes;
  SW_CHECK(RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) == 1);
  std::string secret = "sw_";
  for (unsigned char b : bytes) {
    secret += kAlphabet[b & 63];
  }
  return secret;
}

std::string HashToken(const std::string& secret) {
  // libsodium's SHA-256: every request hashes its token, and OpenSSL 3's one-shot
  // SHA256() looks its algorithm up (locks, a provider's tables) on each call, ~5 us
  // in the server against well under one.
  [[maybe_unused]] static const int initialised = sodium_init();  // once, before any use
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char b : digest) {
    hex += kHex[b >> 4];
    hex += kHex[b & 15];
  }
  return hex;
}

bool RoleAllows(Role role, Role needed) {
  if (role == Role::kAgent || needed == Role::kAgent) {
    return role == needed;
  }
  return static_cast<int>(role) >= static_cast<int>(needed);
}

Result<Principal> Authenticate(Store& store, const std::string& secret) {
  if (secret.empty()) {
    return Status(StatusCode::kUnauthenticated, "Missing bearer token", "unauthorized");
  }
  Result<TokenRecord> token = store.FindTokenByHash(HashToken(secret));
  if (!token.ok()) {
    return Unrecognised(token.status(), "Invalid or revoked token");
  }
  return Principal{token->workspace_id, token->id, token->name, token->role};
}

Result<Principal> TokenCache::Authenticate(Store& store, const std::string& secret) {
  if (secret.empty()) {
    return sw::Authenticate(store, secret);
  }
  const std::string hash = HashToken(secret);
  const auto now = std::chrono::steady_clock::now();
  uint64_t generation = 0;
  {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(hash); it != entries_.end() && it->second.lapses_at > now) {
      return it->second.principal;
    }
    generation = generation_;
  }
  Result<TokenRecord> token = store.FindTokenByHash(hash);
  if (!token.ok()) {
    return Unrecognised(token.status(), "Invalid or revoked token");
  }
  Principal principal{token->workspace_id, token->id, token->name, token->role};
  std::lock_guard lock(mu_);
  if (generation != generation_) {
    return principal;  // a revoke came meanwhile: answer, but do not remember
  }
  if (entries_.size() >= kMaxEntries) {
    entries_.clear();  // many distinct tokens: start over rather than track ages
  }
  entries_[hash] = Entry{principal, now + ttl_};
  return principal;
}

void TokenCache::Clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
  ++generation_;
}

Result<Principal> AuthenticateSession(Store& store, const std::string& cookie, int64_t now) {
  Result<TokenRecord> token = store.FindSessionToken(HashToken(cookie), now);
  if (!token.ok()) {
    return Unrecognised(token.status(), "The session has ended; sign in again");
  }
  return Principal{token->workspace_id, token->id, token->name, token->role};
}

}  // namespace sw
