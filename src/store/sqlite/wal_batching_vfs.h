// The "stepwell-wal" VFS: hands a commit's WAL frames to the kernel in one write.
//
// SQLite writes each WAL frame as two `pwrite`s (its 24-byte header, then the page), so
// a commit of 12 pages is 24 system calls before its `fdatasync`; on this project's
// virtual machines each costs 1.5–4 µs plus the file system's per-call work. This VFS
// wraps the process's default VFS and, for a WAL file only, gathers consecutive writes
// in memory and writes them with one call when SQLite syncs the file (a commit), reads
// a range it holds, asks the file's size, truncates or closes it, or when 4 MiB are
// gathered. Every other file, and every other call, goes straight through.
//
// Why this is safe: SQLite relies on nothing being on disk before its sync, and a reader
// finds a commit's frames only through the WAL index, which the writer updates after the
// sync. That second point holds with `synchronous=FULL` (or EXTRA) only: with NORMAL or
// OFF a commit is not synced and its frames could be read from the file while they are
// still here. So only a connection that always commits with FULL may open a database
// with this VFS (the store's writer, sqlite_store.cc).
//
// Thread-safe as SQLite requires of a VFS: one file handle is used by one connection.
#pragma once

namespace sw::sqlite {

// Registers the VFS (once, not as the default) and answers its name, for
// sqlite3_open_v2. Each file is opened through the VFS that is the process's default at
// that moment (the "unix" one, or a test's fault-injecting one registered later).
const char* WalBatchingVfs();

}  // namespace sw::sqlite
