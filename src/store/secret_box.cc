#include "store/secret_box.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sw {

namespace {

constexpr std::string_view kPrefix = "swsec1.";
constexpr size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;

void InitSodium() {
  static const bool ready = [] { return sodium_init() >= 0; }();
  if (!ready) {
    std::abort();  // no safe random source: nothing may be sealed
  }
}

std::string KeyId(const SecretBox::Key& key) {
  unsigned char hash[4];
  crypto_generichash(hash, sizeof hash, key.data(), key.size(), nullptr, 0);
  char hex[sizeof hash * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
  return hex;
}

Status Unreadable(std::string_view why) {
  return Status(StatusCode::kInternal, "a stored secret cannot be read: " + std::string(why),
                "secret_unreadable");
}

Result<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return Status(StatusCode::kNotFound, "cannot read " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<SecretBox::Key> ReadKeyFile(const std::string& path) {
  Result<std::string> text = ReadSmallFile(path);
  if (!text.ok()) {
    return text.status();
  }
  Result<SecretBox::Key> key = SecretBox::ParseKey(*text);
  if (!key.ok()) {
    return Status(StatusCode::kInvalidArgument, path + ": " + key.status().message());
  }
  return key;
}

}  // namespace

SecretBox::SecretBox(std::vector<Key> keys) {
  InitSodium();
  for (const Key& key : keys) {
    keys_.push_back(Entry{key, KeyId(key)});
  }
}

SecretBox::Key SecretBox::NewKey() {
  InitSodium();
  Key key;
  crypto_aead_xchacha20poly1305_ietf_keygen(key.data());
  return key;
}

Result<SecretBox::Key> SecretBox::ParseKey(std::string_view text) {
  InitSodium();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  Key key;
  size_t len = 0;
  if (text.size() == 64 &&
      sodium_hex2bin(key.data(), key.size(), text.data(), text.size(), nullptr, &len, nullptr) ==
          0 &&
      len == key.size()) {
    return key;
  }
  for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_URLSAFE,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING}) {
    if (sodium_base642bin(key.data(), key.size(), text.data(), text.size(), nullptr, &len, nullptr,
                          variant) == 0 &&
        len == key.size()) {
      return key;
    }
  }
  return InvalidArgument("a secret key is 64 hex digits or the base64 of 32 bytes");
}

std::string SecretBox::FormatKey(const Key& key) {
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, key.data(), key.size());
  return hex;
}

Status SecretBox::WriteKeyFile(const std::string& path, const Key& key) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status(StatusCode::kInternal, "cannot create " + tmp + ": " + std::strerror(errno));
  }
  const std::string text = FormatKey(key) + "\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                       ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), path.c_str()) != 0) {
    return Status(StatusCode::kInternal, "cannot write " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Result<std::shared_ptr<const SecretBox>> SecretBox::ForDataDir(const std::string& data_dir) {
  std::vector<Key> keys;
  const std::string dir = data_dir.empty() ? "." : data_dir;
  const std::string file = dir + "/" + kSecretKeyFile;
  if (const char* env = std::getenv(kSecretKeyEnv); env != nullptr && *env != '\0') {
    Result<Key> key = ParseKey(env);
    if (!key.ok()) {
      return InvalidArgument(std::string(kSecretKeyEnv) + ": " + key.status().message());
    }
    keys.push_back(*key);
  } else if (std::filesystem::exists(file)) {
    Result<Key> key = ReadKeyFile(file);
    if (!key.ok()) {
      return key.status();
    }
    keys.push_back(*key);
  } else {
    Key key = NewKey();
    if (Status s = WriteKeyFile(file, key); !s.ok()) {
      return s;
    }
    keys.push_back(key);
  }
  // A rotation under way (.next) or done (.previous): values sealed under those still open.
  for (const char* suffix : {".next", ".previous"}) {
    if (std::filesystem::exists(file + suffix)) {
      Result<Key> key = ReadKeyFile(file + suffix);
      if (!key.ok()) {
        return key.status();
      }
      keys.push_back(*key);
    }
  }
  return std::shared_ptr<const SecretBox>(std::make_shared<SecretBox>(std::move(keys)));
}

std::string SecretBox::Seal(std::string_view plaintext, std::string_view context) const {
  if (plaintext.empty()) {
    return "";
  }
  const Entry& current = keys_.front();
  std::string box(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(box.data());
  randombytes_buf(out, kNonceBytes);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out + kNonceBytes, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
      plaintext.size(), reinterpret_cast<const unsigned char*>(context.data()), context.size(),
      nullptr, out, current.key.data());
  std::string encoded(
      sodium_base64_ENCODED_LEN(box.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(encoded.data(), encoded.size(), out, box.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  encoded.resize(std::strlen(encoded.c_str()));
  return std::string(kPrefix) + current.id + "." + encoded;
}

Result<std::string> SecretBox::Open(std::string_view sealed, std::string_view context) const {
  if (sealed.empty()) {
    return std::string();
  }
  if (!sealed.starts_with(kPrefix) || sealed.size() < kPrefix.size() + 9 ||
      sealed[kPrefix.size() + 8] != '.') {
    return Unreadable("not a sealed value");
  }
  const std::string_view id = sealed.substr(kPrefix.size(), 8);
  const Entry* entry = nullptr;
  for (const Entry& e : keys_) {
    if (e.id == id) {
      entry = &e;
    }
  }
  if (entry == nullptr) {
    return Unreadable("sealed under key " + std::string(id) + ", which this server does not hold");
  }
  const std::string_view encoded = sealed.substr(kPrefix.size() + 9);
  std::string box(encoded.size(), '\0');
  size_t box_len = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(box.data()), box.size(), encoded.data(),
                        encoded.size(), nullptr, &box_len, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      box_len < kNonceBytes + kTagBytes) {
    return Unreadable("not a sealed value");
  }
  const auto* in = reinterpret_cast<const unsigned char*>(box.data());
  std::string plaintext(box_len - kNonceBytes - kTagBytes, '\0');
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plaintext.data()), &len, nullptr, in + kNonceBytes,
          box_len - kNonceBytes, reinterpret_cast<const unsigned char*>(context.data()),
          context.size(), in, entry->key.data()) != 0) {
    return Unreadable("it does not authenticate (altered, or moved from another place)");
  }
  plaintext.resize(len);
  return plaintext;
}

bool SecretBox::SealedWithCurrentKey(std::string_view sealed) const {
  return sealed.empty() ||
         sealed.substr(0, kPrefix.size() + 8) == std::string(kPrefix) + keys_.front().id;
}

std::vector<SecretBox::Key> SecretBox::keys() const {
  std::vector<Key> out;
  for (const Entry& e : keys_) {
    out.push_back(e.key);
  }
  return out;
}

}  // namespace sw
