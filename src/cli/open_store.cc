#include "cli/open_store.h"

#include <filesystem>
#include <utility>

#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace sw::cli {

Result<std::unique_ptr<Store>> OpenStore(const std::string& data_dir, const std::string& store,
                                         std::shared_ptr<const SecretBox> secrets) {
  if (store.empty()) {
    Result<std::unique_ptr<SqliteStore>> sqlite = SqliteStore::Open(data_dir, secrets);
    if (!sqlite.ok()) {
      return sqlite.status();
    }
    return std::unique_ptr<Store>(std::move(sqlite).value());
  }
  if (!PostgresStore::IsUrl(store)) {
    return InvalidArgument("--store: expected postgresql://USER@HOST:PORT/DB, got '" + store + "'");
  }
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    return Status(StatusCode::kUnavailable, "cannot create " + data_dir + ": " + ec.message());
  }
  if (secrets == nullptr) {
    Result<std::shared_ptr<const SecretBox>> own = SecretBox::ForDataDir(data_dir);
    if (!own.ok()) {
      return own.status();
    }
    secrets = std::move(own).value();
  }
  Result<std::unique_ptr<PostgresStore>> pg = PostgresStore::Open(store, std::move(secrets));
  if (!pg.ok()) {
    return pg.status();
  }
  return std::unique_ptr<Store>(std::move(pg).value());
}

}  // namespace sw::cli
