#include "cli/secrets_command.h"

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>

#include "cli/open_store.h"
#include "store/secret_box.h"

namespace sw::cli {

namespace {

// The new key goes to DIR/secret.key.next first, so a stop at any point leaves a key
// that opens every value: before the reseal commits the old one seals, after it the
// new one does, and the server loads both until the rename ends the rotation.
int Rotate(const std::string& data_dir, const std::string& store_url) {
  Result<std::shared_ptr<const SecretBox>> current = SecretBox::ForDataDir(data_dir);
  if (!current.ok()) {
    std::cerr << "error: " << current.status().message() << "\n";
    return 1;
  }
  const bool from_env = std::getenv(kSecretKeyEnv) != nullptr && *std::getenv(kSecretKeyEnv);
  const std::string key_file = data_dir + "/" + kSecretKeyFile;
  const std::string next_file = key_file + ".next";
  const SecretBox::Key next = SecretBox::NewKey();
  if (!from_env) {
    if (Status s = SecretBox::WriteKeyFile(next_file, next); !s.ok()) {
      std::cerr << "error: " << s.message() << "\n";
      return 1;
    }
  }
  // Seals with the new key, opens with it and every key the directory holds.
  Result<std::shared_ptr<const SecretBox>> both = SecretBox::ForDataDir(data_dir);
  if (!both.ok()) {
    std::cerr << "error: " << both.status().message() << "\n";
    return 1;
  }
  std::vector<SecretBox::Key> keys = {next};
  for (const SecretBox::Key& k : (*both)->keys()) {
    keys.push_back(k);
  }
  auto box = std::make_shared<const SecretBox>(std::move(keys));
  Result<std::unique_ptr<Store>> store = OpenStore(data_dir, store_url, box);
  if (!store.ok()) {
    std::cerr << "error: " << store.status().message() << "\n";
    return 1;
  }
  if (Status s = (*store)->ResealSecrets(); !s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return 1;
  }
  store->reset();
  if (from_env) {
    std::cout << "Secrets are sealed under a new key. Set " << kSecretKeyEnv
              << " to it on every instance before starting them:\n"
              << SecretBox::FormatKey(next) << std::endl;
    return 0;
  }
  if (std::rename(next_file.c_str(), key_file.c_str()) != 0) {
    std::cerr << "error: cannot rename " << next_file << " to " << key_file << "\n";
    return 1;
  }
  std::remove((key_file + ".previous").c_str());
  std::cout << "Secrets are sealed under a new key in " << key_file << std::endl;
  return 0;
}

}  // namespace

void AddSecretsCommands(CLI::App& app) {
  auto data_dir = std::make_shared<std::string>("./stepwell-data");
  CLI::App* secrets = app.add_subcommand("secrets", "Manage the key that seals stored secrets");
  secrets->require_subcommand(1);
  CLI::App* rotate = secrets->add_subcommand(
      "rotate", "Seal every stored secret under a new key (offline: stop the server first)");
  auto store = std::make_shared<std::string>();
  rotate->add_option("--data-dir", *data_dir, "Where the SQLite store lives");
  rotate->add_option("--store", *store, "postgresql://USER@HOST:PORT/DB (default: SQLite)")
      ->envname("STEPWELL_STORE");
  rotate->callback([data_dir, store] {
    if (int code = Rotate(*data_dir, *store); code != 0) {
      throw CLI::RuntimeError(code);
    }
  });
}

}  // namespace sw::cli
