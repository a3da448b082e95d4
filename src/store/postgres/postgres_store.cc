#include "store/postgres/postgres_store.h"

#include <utility>
#include <vector>

#include "store/postgres/db.h"
#include "store/postgres/schema.h"

namespace sw {

namespace {

constexpr size_t kReaders = 4;
constexpr std::chrono::milliseconds kRecoveryProbe{1000};

}  // namespace

bool PostgresStore::IsUrl(const std::string& store) {
  return store.starts_with("postgresql://") || store.starts_with("postgres://");
}

Result<std::unique_ptr<PostgresStore>> PostgresStore::Open(
    const std::string& url, std::shared_ptr<const SecretBox> secrets) {
  Result<std::unique_ptr<postgres::PgConnection>> writer = postgres::PgConnection::Open(url);
  if (!writer.ok()) {
    return writer.status();
  }
  if (Status s = postgres::Migrate(**writer); !s.ok()) {
    return s;
  }
  std::vector<std::unique_ptr<sql::Connection>> readers;
  for (size_t i = 0; i < kReaders; ++i) {
    Result<std::unique_ptr<postgres::PgConnection>> reader = postgres::PgConnection::Open(url);
    if (!reader.ok()) {
      return reader.status();
    }
    readers.push_back(std::move(reader).value());
  }
  auto store = std::unique_ptr<PostgresStore>(
      new PostgresStore(std::move(writer).value(), std::move(readers), std::move(secrets)));
  // After the server was away, an idle instance is healthy again once it answers, not
  // only at its next write.
  store->SetRecoveryProbe(kRecoveryProbe);
  return store;
}

}  // namespace sw
