#include "core/cursor.h"

#include "core/expression.h"

namespace sw {

using nlohmann::json;

namespace {

Result<bool> Condition(const std::string& text, const json& scope) {
  return EvaluateCondition(text, scope);
}

}  // namespace

Cursor::Cursor(std::shared_ptr<const Definition> definition, json input, json run)
    : definition_(std::move(definition)) {
  scope_ = {{"input", std::move(input)}, {"steps", json::object()}, {"run", std::move(run)}};
  frames_.push_back(Frame{&definition_->steps, 0, nullptr, "", "", 0});
}

void Cursor::SetOutput(const StepDef& step, json output) {
  scope_["steps"][step.id] = {{"output", output}};
  last_output_ = std::move(output);
}

CursorAction Cursor::Next() {
  CursorAction action;
  while (true) {
    Frame& top = frames_.back();
    if (top.index >= top.steps->size()) {
      if (frames_.size() == 1) {
        action.kind = CursorAction::Kind::kComplete;
        action.output = last_output_;
        return action;
      }
      if (Status s = FinishFrame(action.effects); !s.ok()) {
        action.kind = CursorAction::Kind::kFail;
        action.error = s;
        return action;
      }
      continue;
    }
    const StepDef& step = (*top.steps)[top.index];
    std::string path = top.prefix + step.id;
    if (step.IsControl()) {
      if (Status s = EnterControl(step, path, action.effects); !s.ok()) {
        action.kind = CursorAction::Kind::kFail;
        action.error = s;
        return action;
      }
      continue;
    }
    pending_leaf_ = true;
    action.kind = CursorAction::Kind::kExecute;
    action.step = &step;
    action.path = std::move(path);
    return action;
  }
}

void Cursor::Complete(json output) {
  SW_CHECK(pending_leaf_);
  pending_leaf_ = false;
  Frame& top = frames_.back();
  SetOutput((*top.steps)[top.index], std::move(output));
  ++top.index;
}

Status Cursor::EnterControl(const StepDef& step, const std::string& path,
                            std::vector<ControlEffect>& effects) {
  if (step.traits().control == ControlFlow::kLoop) {
    effects.push_back({&step, path, StepStatus::kRunning, nullptr});
    frames_.push_back(Frame{&step.steps, 0, &step, path, path + "[0].", 0});
    return Status::Ok();
  }
  // Switch: the first case whose condition holds, else the default branch.
  const std::vector<StepDef>* branch = step.default_steps.empty() ? nullptr : &step.default_steps;
  for (const SwitchCase& c : step.cases) {
    Result<bool> hit = Condition(c.when, scope_);
    if (!hit.ok()) {
      return Status(StatusCode::kInvalidArgument,
                    "step '" + step.id + "': " + hit.status().message(), "expression_error");
    }
    if (*hit) {
      branch = &c.steps;
      break;
    }
  }
  if (branch == nullptr) {
    // No case matched and no default: the switch completes with a null output.
    effects.push_back({&step, path, StepStatus::kCompleted, nullptr});
    SetOutput(step, nullptr);
    ++frames_.back().index;
    return Status::Ok();
  }
  effects.push_back({&step, path, StepStatus::kRunning, nullptr});
  frames_.push_back(Frame{branch, 0, &step, path, path + ".", 0});
  return Status::Ok();
}

Status Cursor::FinishFrame(std::vector<ControlEffect>& effects) {
  Frame& top = frames_.back();
  const StepDef& owner = *top.owner;
  json output;
  if (owner.traits().control == ControlFlow::kLoop) {
    const int iterations = top.iteration + 1;
    bool done = false;
    bool exhausted = false;
    if (!owner.until.empty()) {
      Result<bool> until = Condition(owner.until, scope_);
      if (!until.ok()) {
        return Status(StatusCode::kInvalidArgument,
                      "step '" + owner.id + "': " + until.status().message(), "expression_error");
      }
      done = *until;
    }
    if (!done && iterations >= owner.max_iterations) {
      done = true;
      exhausted = !owner.until.empty();
    }
    if (!done) {
      top.iteration = iterations;
      top.index = 0;
      top.prefix = top.owner_path + "[" + std::to_string(iterations) + "].";
      return Status::Ok();
    }
    output = {{"iterations", iterations}, {"exhausted", exhausted}};
  } else {
    output = last_output_;
  }
  std::string path = top.owner_path;
  frames_.pop_back();
  effects.push_back({&owner, std::move(path), StepStatus::kCompleted, output});
  SetOutput(owner, std::move(output));
  ++frames_.back().index;
  return Status::Ok();
}

}  // namespace sw
