// Cursor walks a definition: it says which leaf step runs next, given the outputs of
// the leaves before it, and what happens to the control steps (loop, switch) on the
// way. It is deterministic: the same definition, input and leaf outputs always give
// the same walk, so after a restart the engine rebuilds a run's cursor by feeding it
// the stored outputs again; nothing completed runs twice.
//
// Not thread-safe: one owner at a time. Holds a shared_ptr to the definition it walks.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/definition.h"
#include "core/result.h"
#include "core/run_status.h"

namespace sw {

// A change to a control step's row (a loop or switch was entered or finished).
struct ControlEffect {
  const StepDef* step;
  std::string path;
  StepStatus status;  // kRunning when entered, kCompleted when finished
  nlohmann::json output;
  int64_t finished_at = 0;  // when it finished, if known before its row is committed
};

struct CursorAction {
  enum class Kind {
    kExecute,   // run `step` (a leaf) at `path`, then call Complete() with its output
    kComplete,  // the run is done; `output` is the last executed step's output
    kFail,      // a condition could not be evaluated; `error` says why
  };
  Kind kind = Kind::kComplete;
  const StepDef* step = nullptr;
  std::string path;
  nlohmann::json output;
  Status error;
  std::vector<ControlEffect> effects;  // control rows reached before this action
};

class Cursor {
 public:
  // `run` is what expressions see as `run` ({"id", "workflow_id", ...}).
  Cursor(std::shared_ptr<const Definition> definition, nlohmann::json input, nlohmann::json run);

  // What to do next. Calling Next() again without Complete() returns the same leaf.
  CursorAction Next();

  // Records the output of the leaf the last Next() returned.
  // REQUIRES: the last Next() returned kExecute.
  void Complete(nlohmann::json output);

  // True when the leaf the last Next() returned is the last top-level step: once it
  // completes, the run is done (the engine then commits both at once).
  bool AtLastTopLevelLeaf() const {
    return pending_leaf_ && frames_.size() == 1 && frames_[0].index + 1 == frames_[0].steps->size();
  }

  // {"input", "steps": {"<id>": {"output"}}, "run"}: what expressions read.
  const nlohmann::json& scope() const { return scope_; }

 private:
  struct Frame {
    const std::vector<StepDef>* steps;
    size_t index = 0;
    const StepDef* owner = nullptr;  // the loop or switch that owns this frame
    std::string owner_path;
    std::string prefix;  // path prefix of this frame's steps
    int iteration = 0;   // loops: 0-based
  };

  void SetOutput(const StepDef& step, nlohmann::json output);
  // Finishes the top frame's owner (or the loop's iteration); appends effects.
  // Returns an error when a condition fails to evaluate.
  Status FinishFrame(std::vector<ControlEffect>& effects);
  Status EnterControl(const StepDef& step, const std::string& path,
                      std::vector<ControlEffect>& effects);

  std::shared_ptr<const Definition> definition_;
  nlohmann::json scope_;
  nlohmann::json last_output_;
  std::vector<Frame> frames_;
  bool pending_leaf_ = false;
};

}  // namespace sw
