// The scripted life of a run in the power-loss test, version by version: the change
// that takes a run from version v-1 to v (TransitionTo), and everything the store must
// hold for a run at version v (ExpectedAt). Each version touches another part of a
// transition: steps, timers, an agent task queued and completed, an approval created
// and decided with its notification and audit entry, and a spend charge.
//
// Because every change is a function of the version, a run read back after a power loss
// is checked whole: its step rows, timers, tasks and its share of the spend must be
// exactly those of the version its row says, so a half-written transition shows.
//
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "store/store.h"

namespace sw::powerloss {

// A run is created at version 1 and completed at kFinalVersion.
inline constexpr int64_t kFinalVersion = 10;

struct Expected {
  RunStatus status = RunStatus::kPending;
  std::map<std::string, StepStatus> steps;  // by path
  std::set<std::string> timers;             // the kinds of the run's timers
  std::string agent_task;                   // its status; empty: none
  std::string human_task;                   // its status; empty: none
  bool notified = false;                    // the approval's notification is written
  bool audited = false;                     // the decision's audit entry is written
  int64_t spend = 0;                        // the sum of its charges (micros)
};

// REQUIRES: 1 <= version <= kFinalVersion.
Expected ExpectedAt(int64_t version);

// A new run (version 1) of `workspace_id`.
RunRecord NewRun(const std::string& run_id, const std::string& workspace_id);

// The compare-and-set from version-1 to `version`. REQUIRES: 2 <= version <= kFinalVersion.
RunTransition TransitionTo(const std::string& run_id, const std::string& workspace_id,
                           int64_t version);

// The ids the script gives a run's agent task, approval, notification and audit entry.
std::string TaskId(const std::string& run_id);
std::string ApprovalId(const std::string& run_id);
std::string NotificationId(const std::string& run_id);
std::string AuditId(const std::string& run_id);

}  // namespace sw::powerloss
