// The engine's settings, as `serve` reads them from its flags. A value type.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sw {

struct EngineOptions {
  int workers = 4;
  int64_t default_http_timeout_ms = 30000;
  bool allow_shell = false;
  int64_t default_shell_timeout_ms = 600000;
  size_t shell_output_bytes = 64 * 1024;  // per stream
  int64_t shell_kill_grace_ms = 2000;
  // The largest step output kept (serialized JSON); a larger one fails its run with
  // `output_too_large` (API.md "Limits").
  size_t max_step_output_bytes = 1 << 20;
  // The throughput breaker's defaults, for definitions without `limits`; 0: no limit.
  int64_t max_runs_per_minute = 0;
  int64_t max_steps_per_minute = 6000;
  // Start drives every pending and running run (one process). With several instances
  // it does not: each instance's beat hands it the runs it owns or nobody owns.
  bool drive_all_on_start = true;
};

}  // namespace sw
