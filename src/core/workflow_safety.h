// The workflow-level safety hold (`paused_safety`): its reasons, their exact messages,
// and the sliding window the throughput breaker counts dispatches in. The reasons share
// one seam: a workflow holds at most one safety object ({reason, message, tripped_at}),
// and its shown status is `paused_safety` while it does, whatever its admin status.
//
// Pure: no I/O, clocks or threads; times come in as parameters. DispatchWindow is a
// value type, not thread-safe (its owner guards it).
#pragma once

#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace sw {

inline constexpr std::string_view kThroughputCapReason = "throughput_cap";
inline constexpr std::string_view kSpendCapReason = "spend_cap";
inline constexpr char kThroughputCapMessage[] =
    "tripped the throughput cap (likely a loop or polling misconfig)";
inline constexpr char kSpendCapMessage[] =
    "This workflow paused because the account spend cap was reached. Dispatch resumes after "
    "the cap is raised or the billing period rolls over.";

// The largest per-minute limit a definition or the server may set: bounds the memory a
// window holds (one timestamp per dispatch counted).
inline constexpr int64_t kMaxPerMinuteLimit = 1000000;
inline constexpr int64_t kThroughputWindowMs = 60000;

// The shown status of a workflow: `paused_safety` while it holds a safety object.
inline std::string ShownWorkflowStatus(const std::string& status, const nlohmann::json& safety) {
  return safety.is_object() ? "paused_safety" : status;
}

// {reason, message, tripped_at} for a hold tripped at `tripped_at` (RFC 3339).
nlohmann::json SafetyObject(std::string_view reason, const std::string& tripped_at);

// The run's view of its workflow's hold for `reason`: {reason, message}, or null for "".
nlohmann::json RunWorkflowSafety(std::string_view reason);

// Counts events over the last kThroughputWindowMs: an event at `now` sees the events in
// (now - window, now]. Exact: it keeps one timestamp per counted event, at most `limit`.
class DispatchWindow {
 public:
  // Whether one more event at `now` stays within `limit` per window. Forgets events
  // that left the window. REQUIRES: now is not before the last event counted.
  bool Fits(int64_t now, int64_t limit);
  void Add(int64_t now) { times_.push_back(now); }
  // The events in the window ending at `now`.
  int64_t Count(int64_t now);
  void Clear() { times_.clear(); }

 private:
  void Forget(int64_t now);
  std::deque<int64_t> times_;
};

}  // namespace sw
