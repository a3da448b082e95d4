// ProcessRunner runs the `shell` step's process: argv executed directly (never through a
// shell), with exactly the environment the caller gives, a working directory, a timeout,
// and stdout/stderr captured up to a cap each (the rest is read and dropped, so the child
// never blocks on a full pipe). The child gets /dev/null as stdin, no inherited file
// descriptors, default signal dispositions and an empty signal mask.
//
// Each attempt is contained: everything it starts dies with it, whatever it does (a
// background child, setsid, a double fork). It runs under a keeper of its own
// (process_keeper.h), a subreaper that every orphan of the attempt is re-parented to, in
// a process group of its own, and in a cgroup of its own where the machine allows it
// (process_cgroup.h). A cancel (the step's CancellationToken fires) or the timeout sends
// SIGTERM to the attempt, then SIGKILL to all of it after a grace. When the process
// exits, whatever is left of the attempt is killed too: `done` runs only once nothing of
// it is left running. When the server dies, the keeper kills the attempt; a record of
// each running attempt (process_records.h) lets a restarted server end what a crashed
// one left.
//
// Thread-safe. The real runner owns one thread per running process; `done` runs on it.
// Destroying the runner kills every process still running (SIGKILL, no grace: an
// orderly stop fires the tokens first), answers their `done` with kCancelled
// "shutting_down", and joins the threads.
// REQUIRES: nothing else in the server reaps its children (no waitpid(-1), SIGCHLD not
// SIG_IGN), and `done` does not destroy the runner.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "engine/cancellation.h"

namespace sw {

// Limits on a ProcessSpec; larger values are cut to these.
inline constexpr size_t kMaxProcessOutputBytes = 16 << 20;  // per stream
inline constexpr int64_t kMaxProcessTimeoutMs = 24LL * 3600 * 1000;
inline constexpr int64_t kMaxKillGraceMs = 60 * 1000;
// PATH entries searched for an argv[0] without a '/'.
inline constexpr size_t kMaxPathEntries = 64;

struct ProcessSpec {
  // argv[0] is looked up on the PATH of `env` when it has no '/' (like execvp, but with
  // `env`'s PATH, or "/bin:/usr/bin" when it has none); a relative path with a '/' is
  // taken from `cwd`.
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // the child's whole environment
  std::string cwd;                         // empty: the server's
  int64_t timeout_ms = 0;                  // 0: none
  size_t max_output_bytes = 64 * 1024;     // per stream
  int64_t kill_grace_ms = 2000;            // SIGTERM -> SIGKILL
};

struct ProcessResult {
  int exit_code = 0;  // -1 when killed by a signal
  int signal = 0;     // the signal that ended it, 0 if it exited
  std::string stdout_text;
  std::string stderr_text;
  bool stdout_truncated = false;  // more than max_output_bytes was written (and dropped)
  bool stderr_truncated = false;
  int64_t duration_ms = 0;  // from start to reaped
};

// How attempts are contained: the keeper always; a cgroup per attempt too with kCgroup.
// kAuto takes kCgroup where the machine allows it.
enum class ProcessContainment { kAuto, kCgroup, kSubreaper };

struct ProcessRunnerOptions {
  ProcessContainment containment = ProcessContainment::kAuto;
  // Where the records of running attempts are kept (KillLeftoverAttempts reads them);
  // empty: none. REQUIRES: the directory exists.
  std::string record_dir;
};

class ProcessRunner {
 public:
  virtual ~ProcessRunner() = default;

  // Runs the process; `done` runs once, on the runner's thread, when the process and its
  // group are gone and it is reaped. Errors: kCancelled (reason "cancelled") when the
  // token fired, kDeadlineExceeded with reason "timeout" when the timeout passed (the
  // process was killed), kFailedPrecondition with reason "spawn_failed" when it could
  // not start (program not found or not executable, bad cwd; the message names argv[0]
  // or the cwd and the errno text), kInvalidArgument ("spawn_failed") for an empty argv
  // or a malformed environment name, kUnavailable ("spawn_failed") when the server is
  // out of processes or descriptors, kCancelled ("shutting_down") when the runner is
  // destroyed meanwhile. A process that exits non-zero is not an error here (the caller
  // decides); it is a ProcessResult.
  // Only when the runner cannot start a thread for the run is `done` answered at once,
  // on the caller's thread, with kUnavailable "spawn_failed".
  virtual void Run(ProcessSpec spec, std::shared_ptr<CancellationToken> token,
                   std::function<void(Result<ProcessResult>)> done) = 0;

  // Processes still running, i.e. runs whose `done` has not been called yet (for tests
  // and metrics).
  virtual size_t Running() const = 0;

  // kCgroup or kSubreaper: what is in force. `containment_note` says why no cgroup.
  virtual ProcessContainment containment() const = 0;
  virtual std::string containment_note() const = 0;
};

// The real runner: fork + execve under a keeper, one supervising thread per process.
// kCgroup fails (kUnavailable, saying why) when the machine does not allow it.
Result<std::unique_ptr<ProcessRunner>> MakeProcessRunner(const ProcessRunnerOptions& options);
// With the default options (kAuto, no records).
std::unique_ptr<ProcessRunner> MakeProcessRunner();

}  // namespace sw
