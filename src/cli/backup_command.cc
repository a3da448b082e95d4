#include "cli/backup_command.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/files.h"
#include "core/time_format.h"
#include "store/secret_box.h"
#include "store/sqlite/backup.h"

namespace sw::cli {

namespace {

namespace fs = std::filesystem;

constexpr char kStoreFile[] = "stepwell.db";
constexpr char kAdminTokenFile[] = "admin-token";

// The data directory's files a backup carries besides the store: the keys that open the
// sealed secrets (the current one, and those a rotation leaves beside it) and the admin
// token the first start wrote. Not carried: listen-address (the running server's),
// instance-id (an instance's identity; two servers must not share one) and processes/
// (the shell attempts of the server backed up: a server on the restored copy would kill
// those process ids).
std::vector<std::string> CarriedNames() {
  const std::string key = kSecretKeyFile;
  return {key, key + ".next", key + ".previous", kAdminTokenFile};
}

struct BackupArgs {
  std::string data_dir = "./stepwell-data";
  std::string out;
  std::string store;
  bool force = false;
  bool no_secrets = false;
  int step_pages = sqlite::BackupOptions{}.pages_per_step;
};

struct RestoreArgs {
  std::string from;
  std::string data_dir;
  std::string store;
  bool force = false;
};

int Fail(const std::string& message) {
  std::cerr << "error: " << message << "\n";
  return 1;
}

// A PostgreSQL store is not a file this command can copy: the database's own tools are.
int RefusePostgres(const std::string& command) {
  return Fail(
      command +
      " copies the embedded SQLite store; this store is PostgreSQL (--store or "
      "STEPWELL_STORE). Use PostgreSQL's tools: pg_dump --format=custom --file=stepwell.dump "
      "DBURL to back it up while the servers run, pg_restore --dbname=DBURL stepwell.dump "
      "into an empty database to restore it. Keep the data directory's secret.key (or "
      "STEPWELL_SECRET_KEY) with the dump: without it the stored connection secrets cannot "
      "be read (docs/operations.md)");
}

Status ReadFile(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) {
    return Status(StatusCode::kUnavailable, "cannot read " + path);
  }
  out = text.str();
  return Status::Ok();
}

std::string Megabytes(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

std::string FileNames(const std::vector<sqlite::CarriedFile>& files) {
  std::string names;
  for (const sqlite::CarriedFile& f : files) {
    names += (names.empty() ? "" : ", ") + f.name;
  }
  return names;
}

int Backup(const BackupArgs& args) {
  if (!args.store.empty()) {
    return RefusePostgres("stepwell backup");
  }
  std::error_code ec;
  if (!fs::is_directory(args.data_dir, ec)) {
    return Fail("no data directory at " + args.data_dir + " (is --data-dir right?)");
  }
  const std::string db_path = args.data_dir + "/" + kStoreFile;
  if (!fs::is_regular_file(db_path, ec)) {
    return Fail(args.data_dir + " holds no Stepwell store (no " + kStoreFile +
                "; is --data-dir right?)");
  }
  if (fs::exists(args.out, ec) && !args.force) {
    return Fail(args.out + " exists; choose another name or pass --force to replace it");
  }
  sqlite::BackupOptions options;
  options.pages_per_step = args.step_pages;
  options.created_at = FormatTime(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
  options.source_dir = fs::absolute(args.data_dir, ec).string();
  if (!args.no_secrets) {
    for (const std::string& name : CarriedNames()) {
      const std::string path = args.data_dir + "/" + name;
      struct stat st {};
      if (::stat(path.c_str(), &st) != 0) {
        continue;
      }
      sqlite::CarriedFile file{.name = name, .content = "", .mode = st.st_mode & 0777};
      if (Status s = ReadFile(path, file.content); !s.ok()) {
        return Fail(s.message());
      }
      options.files.push_back(std::move(file));
    }
  }
  const auto started = std::chrono::steady_clock::now();
  Result<sqlite::BackupSummary> done = sqlite::BackupStore(db_path, args.out, options);
  if (!done.ok()) {
    return Fail(done.status().message());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  char took[32];
  std::snprintf(took, sizeof(took), "%.2f s", seconds);
  std::cout << "Backed up " << args.data_dir << " to " << args.out << ": " << done->runs
            << " runs, schema version " << done->schema_version << ", " << Megabytes(done->bytes)
            << ", in " << took << " (" << done->steps << " copy steps).\n";
  if (!done->files.empty()) {
    std::cout << "It carries " << FileNames(done->files)
              << ": keep it as secret as the data directory.\n";
  }
  const bool key_carried = !args.no_secrets && fs::exists(args.data_dir + "/" + kSecretKeyFile);
  if (!key_carried) {
    std::cout << "It does not carry the secret key ("
              << (args.no_secrets ? "--no-secrets" : "none in the data directory")
              << "): keep the key (secret.key or STEPWELL_SECRET_KEY) apart; a restored "
                 "server needs it to read stored connection secrets.\n";
  }
  return 0;
}

// A carried file that would replace a different one in the target directory.
std::string Conflict(const std::string& dir, const std::vector<sqlite::CarriedFile>& files) {
  for (const sqlite::CarriedFile& f : files) {
    std::string existing;
    const std::string path = dir + "/" + f.name;
    if (fs::exists(path) && (!ReadFile(path, existing).ok() || existing != f.content)) {
      return path;
    }
  }
  return "";
}

int Restore(const RestoreArgs& args) {
  if (!args.store.empty()) {
    return RefusePostgres("stepwell restore");
  }
  std::error_code ec;
  const std::string db_path = args.data_dir + "/" + kStoreFile;
  if (fs::exists(args.data_dir, ec) && !fs::is_directory(args.data_dir, ec)) {
    return Fail(args.data_dir + " exists and is not a directory");
  }
  if (fs::exists(db_path, ec) && !args.force) {
    return Fail(args.data_dir + " already holds a Stepwell store (" + kStoreFile +
                "); restore into a new directory, or stop its server and pass --force to "
                "replace that store");
  }
  if (fs::create_directories(args.data_dir, ec)) {
    fs::permissions(args.data_dir, fs::perms::owner_all, ec);
  }
  if (ec) {
    return Fail("cannot create " + args.data_dir + ": " + ec.message());
  }
  const std::string staging = db_path + ".restoring";
  Result<sqlite::BackupSummary> staged = sqlite::StageRestore(args.from, staging);
  if (!staged.ok()) {
    return Fail(staged.status().message());
  }
  // Only the files a backup is made with are written: a file of another name (a backup
  // made by something else) could name the store or a directory of the server.
  const std::vector<std::string> known = CarriedNames();
  std::erase_if(staged->files, [&](const sqlite::CarriedFile& f) {
    const bool ours = std::find(known.begin(), known.end(), f.name) != known.end();
    if (!ours) {
      std::cerr << "warning: " << args.from << " carries " << f.name
                << ", which a restore does not write\n";
    }
    return !ours;
  });
  if (std::string clash = Conflict(args.data_dir, staged->files); !clash.empty() && !args.force) {
    std::remove(staging.c_str());
    return Fail(clash +
                " differs from the one in the backup; restore into a new directory, "
                "or pass --force to replace it");
  }
  for (const sqlite::CarriedFile& f : staged->files) {
    if (Status s = WriteFileAtomically(args.data_dir + "/" + f.name, f.content, f.mode & 0777);
        !s.ok()) {
      std::remove(staging.c_str());
      return Fail(s.message());
    }
  }
  if (Status s = sqlite::InstallRestore(staging, db_path); !s.ok()) {
    std::remove(staging.c_str());
    return Fail(s.message());
  }
  std::cout << "Restored " << args.from;
  if (staged->plain_store) {
    std::cout << " (a copy of a store, not a backup)";
  } else {
    std::cout << " (taken " << staged->created_at << " from " << staged->source_dir << ")";
  }
  std::cout << " into " << args.data_dir << ": " << staged->runs << " runs, schema version "
            << staged->schema_version << ".\n";
  if (!staged->files.empty()) {
    std::cout << "Wrote " << FileNames(staged->files) << ".\n";
  }
  const char* env_key = std::getenv(kSecretKeyEnv);
  if (!fs::exists(args.data_dir + "/" + kSecretKeyFile) && (env_key == nullptr || !*env_key)) {
    std::cout << "No secret key came with the backup: put the original secret.key in "
              << args.data_dir << " (or set STEPWELL_SECRET_KEY) before starting the server, "
              << "or stored connection secrets cannot be read.\n";
  }
  std::cout << "Start it with: stepwell serve --data-dir " << args.data_dir << std::endl;
  return 0;
}

}  // namespace

void AddBackupCommands(CLI::App& app) {
  auto b = std::make_shared<BackupArgs>();
  CLI::App* backup = app.add_subcommand(
      "backup", "Copy a consistent snapshot of the SQLite store (the server may be running)");
  backup->add_option("--data-dir", b->data_dir, "The data directory to back up");
  backup->add_option("--out", b->out, "The backup file to write")->required();
  backup->add_option("--store", b->store, "A PostgreSQL store: refused (use pg_dump)")
      ->envname("STEPWELL_STORE");
  backup->add_flag("--force", b->force, "Replace an existing --out file");
  backup->add_flag("--no-secrets", b->no_secrets,
                   "Leave the secret key and the admin token out of the backup");
  backup
      ->add_option("--step-pages", b->step_pages,
                   "Pages (4 KiB) copied per step of SQLite's backup (default 1024)")
      ->check(CLI::Range(1, 1 << 20));
  backup->callback([b] {
    if (int code = Backup(*b); code != 0) {
      throw CLI::RuntimeError(code);
    }
  });

  auto r = std::make_shared<RestoreArgs>();
  CLI::App* restore =
      app.add_subcommand("restore", "Make a data directory from a backup (server stopped)");
  restore->add_option("--from", r->from, "The backup file")->required();
  restore->add_option("--data-dir", r->data_dir, "The data directory to make")->required();
  restore->add_option("--store", r->store, "A PostgreSQL store: refused (use pg_restore)")
      ->envname("STEPWELL_STORE");
  restore->add_flag("--force", r->force,
                    "Replace the store (and carried files) already in --data-dir; its "
                    "server must be stopped");
  restore->callback([r] {
    if (int code = Restore(*r); code != 0) {
      throw CLI::RuntimeError(code);
    }
  });
}

}  // namespace sw::cli
