// RunLeases says which instance drives a run. An instance drives a run only while it
// holds the run's lease, and lets it go when the run parks, ends or the instance stops;
// with several instances (PostgreSQL) a lease also lapses when its holder stops renewing
// it, and another instance takes the run over. One process on the embedded store needs
// no lease row: LocalRunLeases grants every run to it, and the engine's own table keeps
// one driver per run inside the process.
//
// Implementations are thread-safe.
#pragma once

#include <string>

namespace sw {

class RunLeases {
 public:
  virtual ~RunLeases() = default;
  // True when this instance now holds `run_id` and may drive it; false when another
  // instance does (it drives the run, and this one leaves it alone).
  virtual bool Acquire(const std::string& run_id) = 0;
  // This instance lets the run go.
  virtual void Release(const std::string& run_id) = 0;
};

// One instance: every run is this process's.
class LocalRunLeases final : public RunLeases {
 public:
  bool Acquire(const std::string&) override { return true; }
  void Release(const std::string&) override {}
};

}  // namespace sw
