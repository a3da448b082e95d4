#include "simulation_plan.h"

#include <cstdlib>
#include <random>
#include <string>

namespace sw::test {

namespace {

// How often each kind comes, out of the sum.
struct Weight {
  SimOpKind kind;
  int weight;
};
constexpr Weight kWeights[] = {
    {SimOpKind::kStart, 14}, {SimOpKind::kPause, 12},    {SimOpKind::kResume, 10},
    {SimOpKind::kCancel, 7}, {SimOpKind::kComplete, 26}, {SimOpKind::kAdvance, 16},
    {SimOpKind::kEvent, 8},  {SimOpKind::kReplay, 3},    {SimOpKind::kCrash, 4},
};

// Clock moves: within a back-off, past a retry's first back-offs, past a sleep (10m), a
// run timeout (30m), an event timeout (1h), and far.
constexpr int64_t kAdvances[] = {1'000,       30'000,      70'000,       11 * 60'000,
                                 31 * 60'000, 61 * 60'000, 3 * 3'600'000};

SimOpKind DrawKind(std::mt19937_64& rng) {
  int total = 0;
  for (const Weight& w : kWeights) {
    total += w.weight;
  }
  int draw = static_cast<int>(rng() % static_cast<uint64_t>(total));
  for (const Weight& w : kWeights) {
    if (draw < w.weight) {
      return w.kind;
    }
    draw -= w.weight;
  }
  return SimOpKind::kAdvance;
}

SimPrecondition DrawPrecondition(std::mt19937_64& rng) {
  switch (rng() % 10) {
    case 0:
      return SimPrecondition::kVersion;
    case 1:
      return SimPrecondition::kStaleVersion;
    case 2:
      return SimPrecondition::kStatus;
    case 3:
      return SimPrecondition::kWrongStatus;
    default:
      return SimPrecondition::kNone;
  }
}

SimAnswer DrawAnswer(std::mt19937_64& rng) {
  const uint64_t draw = rng() % 10;
  return draw < 7   ? SimAnswer::kOk
         : draw < 9 ? SimAnswer::kServerError
                    : SimAnswer::kConnectionError;
}

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::strtoll(value, nullptr, 10) : fallback;
}

}  // namespace

std::vector<SimOp> PlanOperations(uint64_t seed, int count) {
  std::mt19937_64 rng(seed);
  std::vector<SimOp> ops;
  ops.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    SimOp op;
    // Every field is drawn for every operation, so one kind's fields never shift the
    // draws of the operations after it.
    op.kind = DrawKind(rng);
    op.pick = rng();
    op.precondition = DrawPrecondition(rng);
    op.answer = DrawAnswer(rng);
    op.late_cancel = rng() % 2 == 0;
    op.advance_ms = kAdvances[rng() % std::size(kAdvances)];
    const uint64_t race = rng() % 8;
    op.race = race == 0   ? SimRace::kPause
              : race == 1 ? SimRace::kResume
              : race == 2 ? SimRace::kCancel
              : race == 3 ? SimRace::kCrash
                          : SimRace::kNone;
    op.other_event = rng() % 5 == 0;
    ops.push_back(op);
  }
  return ops;
}

std::string Describe(const SimOp& op) {
  static constexpr const char* kPreconditions[] = {"", " expected_version", " stale_version",
                                                   " expected_status", " wrong_status"};
  static constexpr const char* kAnswers[] = {"200", "500", "connection_error"};
  const std::string late = op.late_cancel ? " (cancels answered late)" : "";
  const std::string pick = " pick=" + std::to_string(op.pick % 1000);
  const std::string race = op.race == SimRace::kPause    ? ", racing a pause"
                           : op.race == SimRace::kResume ? ", racing a resume"
                           : op.race == SimRace::kCancel ? ", racing a cancel"
                           : op.race == SimRace::kCrash  ? ", racing a crash"
                                                         : "";
  switch (op.kind) {
    case SimOpKind::kStart:
      return "start" + pick + race;
    case SimOpKind::kPause:
    case SimOpKind::kResume:
    case SimOpKind::kCancel: {
      const char* verb = op.kind == SimOpKind::kPause    ? "pause"
                         : op.kind == SimOpKind::kResume ? "resume"
                                                         : "cancel";
      return verb + pick + kPreconditions[static_cast<int>(op.precondition)] + late;
    }
    case SimOpKind::kComplete:
      return std::string("complete") + pick + " with " + kAnswers[static_cast<int>(op.answer)] +
             race;
    case SimOpKind::kAdvance:
      return "advance " + std::to_string(op.advance_ms) + " ms" + late;
    case SimOpKind::kEvent:
      return std::string("event ") + (op.other_event ? "other" : "go") + pick;
    case SimOpKind::kReplay:
      return "replay" + pick;
    case SimOpKind::kCrash:
      return "crash";
  }
  return "?";
}

SimConfig ReadSimConfig() {
  SimConfig config;
  config.ops = static_cast<int>(EnvInt("STEPWELL_SIM_OPS", SimConfig::kDefaultOps));
  config.verbose = EnvInt("STEPWELL_SIM_VERBOSE", 0) != 0;
  config.races = EnvInt("STEPWELL_SIM_RACES", 1) != 0;
  if (const char* one = std::getenv("STEPWELL_SIM_SEED"); one != nullptr && *one != '\0') {
    config.seeds.push_back(std::strtoull(one, nullptr, 10));
    return config;
  }
  const int64_t count = EnvInt("STEPWELL_SIM_SEEDS", SimConfig::kDefaultSeeds);
  const int64_t first = EnvInt("STEPWELL_SIM_FIRST_SEED", 1);
  for (int64_t i = 0; i < count; ++i) {
    config.seeds.push_back(static_cast<uint64_t>(first + i));
  }
  return config;
}

}  // namespace sw::test
