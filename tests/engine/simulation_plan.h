// The plan of a deterministic simulation of the run lifecycle
// (simulation_sqlitetest.cc): the operations a seed stands for, and which seeds run.
//
// A plan is a pure function of its seed (std::mt19937_64): the same seed gives the
// same operations on every machine. An operation names its target abstractly (`pick`,
// reduced modulo the candidates the simulation has when it runs the operation: three
// times in four among those the operation fits, say paused runs for a resume), so the
// plan does not depend on what the engine did; what an operation hits does, and that is
// deterministic as far as the engine is once it is quiescent between operations
// (docs/reliability.md, "Deterministic simulation").
//
// Pure; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sw::test {

enum class SimOpKind {
  kStart,  // start a run of one of the simulation's workflows
  kPause,  // control a run: pause, resume or cancel, maybe with a precondition
  kResume,
  kCancel,
  kComplete,  // answer an HTTP request the fake client holds
  kAdvance,   // move the clock (timers come due) and poke the timer service
  kEvent,     // send an event to a run
  kReplay,    // replay a run (a new run of the same workflow and input)
  kCrash,     // stop the engine and the store and open them again on the same directory
};

// What a control sends besides its action.
enum class SimPrecondition {
  kNone,
  kVersion,       // expected_version as last seen: holds
  kStaleVersion,  // expected_version one behind: state_changed
  kStatus,        // expected_status as last seen: holds
  kWrongStatus,   // expected_status of another status: state_changed
};

// How a held request is answered.
enum class SimAnswer { kOk, kServerError, kConnectionError };

// What comes at once after a start or an answer, racing the engine's commits (no
// quiescence between): a control, or a crash. The one part of a plan whose outcome the
// threads decide.
enum class SimRace { kNone, kPause, kResume, kCancel, kCrash };

struct SimOp {
  SimOpKind kind = SimOpKind::kAdvance;
  uint64_t pick = 0;  // which workflow, run or request, modulo the candidates
  SimPrecondition precondition = SimPrecondition::kNone;
  SimAnswer answer = SimAnswer::kOk;
  // A cancel that fires during this operation (a control's, a run timeout's) leaves
  // the request in flight, so its result arrives late; otherwise the fake client
  // answers it "cancelled" at once, as the real client does.
  bool late_cancel = false;
  SimRace race = SimRace::kNone;  // kStart, kComplete: what races it
  int64_t advance_ms = 0;         // kAdvance
  bool other_event = false;       // kEvent: a type no step waits for
};

// The operations of `seed`, `count` of them.
std::vector<SimOp> PlanOperations(uint64_t seed, int count);

// One line for the journal printed when a seed fails.
std::string Describe(const SimOp& op);

// Which seeds run and how long each is: STEPWELL_SIM_SEED=N runs seed N only;
// STEPWELL_SIM_SEEDS=K runs K seeds from STEPWELL_SIM_FIRST_SEED (default 1);
// STEPWELL_SIM_OPS operations a seed. Unset: kDefaultSeeds seeds of kDefaultOps.
// STEPWELL_SIM_VERBOSE=1 prints each seed's journal; STEPWELL_SIM_RACES=0 leaves the
// races out (their operations run without them), so that a seed replays exactly.
struct SimConfig {
  static constexpr int kDefaultSeeds = 24;
  static constexpr int kDefaultOps = 60;
  std::vector<uint64_t> seeds;
  int ops = kDefaultOps;
  bool verbose = false;  // STEPWELL_SIM_VERBOSE=1: print every seed's journal
  bool races = true;     // STEPWELL_SIM_RACES=0: races are left out
};
SimConfig ReadSimConfig();

}  // namespace sw::test
