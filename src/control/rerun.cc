#include "control/rerun.h"

#include <map>
#include <optional>

#include "core/cursor.h"

namespace sw {

using nlohmann::json;

namespace {

Status FromStepError(std::string message) {
  return InvalidArgument(std::move(message), {.field = "from_step"});
}

// One dot-separated part of a path: a step id, with an iteration for a loop's body.
struct Segment {
  std::string id;
  std::optional<int> iteration;
};

// "a.b[2].c" -> {a}, {b, 2}, {c}; nullopt when it is not of that shape.
std::optional<std::vector<Segment>> SplitPath(const std::string& path) {
  std::vector<Segment> out;
  size_t start = 0;
  while (start <= path.size()) {
    const size_t dot = std::min(path.find('.', start), path.size());
    std::string part = path.substr(start, dot - start);
    Segment seg;
    const size_t bracket = part.find('[');
    seg.id = part.substr(0, bracket);
    if (seg.id.empty()) {
      return std::nullopt;
    }
    if (bracket != std::string::npos) {
      const std::string digits = part.substr(bracket + 1);
      if (digits.size() < 2 || digits.size() > 7 || digits.back() != ']') {
        return std::nullopt;
      }
      int n = 0;
      for (size_t i = 0; i + 1 < digits.size(); ++i) {
        if (digits[i] < '0' || digits[i] > '9') {
          return std::nullopt;
        }
        n = n * 10 + (digits[i] - '0');
      }
      seg.iteration = n;
    }
    out.push_back(std::move(seg));
    start = dot + 1;
  }
  return out;
}

// The lists of steps directly inside `step`: a loop's body, a switch's branches.
std::vector<const std::vector<StepDef>*> ChildLists(const StepDef& step) {
  std::vector<const std::vector<StepDef>*> out;
  if (step.traits().control == ControlFlow::kLoop) {
    out.push_back(&step.steps);
  } else if (step.traits().control == ControlFlow::kSwitch) {
    for (const SwitchCase& c : step.cases) {
      out.push_back(&c.steps);
    }
    out.push_back(&step.default_steps);
  }
  return out;
}

// Where a step is: its list and its index there.
struct Place {
  const std::vector<StepDef>* list = nullptr;
  size_t index = 0;
};

std::optional<Place> FindIn(const std::vector<const std::vector<StepDef>*>& lists,
                            const std::string& id) {
  for (const std::vector<StepDef>* list : lists) {
    for (size_t i = 0; i < list->size(); ++i) {
      if ((*list)[i].id == id) {
        return Place{list, i};
      }
    }
  }
  return std::nullopt;
}

// The steps from the top down to the step `id` (inclusive), or empty.
std::vector<const StepDef*> Ancestry(const std::vector<StepDef>& steps, const std::string& id) {
  for (const StepDef& step : steps) {
    if (step.id == id) {
      return {&step};
    }
    for (const std::vector<StepDef>* list : ChildLists(step)) {
      std::vector<const StepDef*> below = Ancestry(*list, id);
      if (!below.empty()) {
        below.insert(below.begin(), &step);
        return below;
      }
    }
  }
  return {};
}

Result<std::string> ResolveStepId(const Definition& definition, const std::string& id) {
  std::vector<const StepDef*> chain = Ancestry(definition.steps, id);
  if (chain.empty()) {
    return FromStepError("'from_step': this version of the workflow has no step '" + id + "'");
  }
  std::string path;
  for (size_t i = 0; i < chain.size(); ++i) {
    if (i + 1 < chain.size() && chain[i]->traits().control == ControlFlow::kLoop) {
      return FromStepError("'from_step': step '" + id + "' is inside loop '" + chain[i]->id +
                           "': name one iteration with its path, such as '" + chain[i]->id +
                           "[0]." + id + "', or rerun from '" + chain[i]->id + "'");
    }
    path += (i == 0 ? "" : ".") + chain[i]->id;
  }
  return path;
}

// Each level of a valid leaf path from the top: the list the step is in, its index, and
// the prefix of that list's paths.
struct Level {
  Place place;
  std::string prefix;
};

std::vector<Level> LevelsOf(const Definition& definition, const std::string& path) {
  std::vector<Level> levels;
  std::optional<std::vector<Segment>> segments = SplitPath(path);
  if (!segments) {
    return levels;
  }
  std::vector<const std::vector<StepDef>*> lists = {&definition.steps};
  std::string prefix;
  for (const Segment& seg : *segments) {
    std::optional<Place> place = FindIn(lists, seg.id);
    if (!place) {
      break;
    }
    levels.push_back(Level{*place, prefix});
    const StepDef& step = (*place->list)[place->index];
    prefix += step.id;
    prefix += seg.iteration ? "[" + std::to_string(*seg.iteration) + "]." : ".";
    lists = ChildLists(step);
  }
  return levels;
}

// What may run from the leaf at `path` on: it, the rest of its list, then the rest of
// each enclosing list outwards (a step further on is named, not expanded: its branch or
// iterations depend on outputs not made yet).
std::vector<std::string> PathsFrom(const Definition& definition, const std::string& path) {
  std::vector<std::string> out;
  std::vector<Level> levels = LevelsOf(definition, path);
  for (size_t depth = levels.size(); depth-- > 0;) {
    const Level& level = levels[depth];
    const bool innermost = depth + 1 == levels.size();
    for (size_t i = level.place.index + (innermost ? 0 : 1); i < level.place.list->size(); ++i) {
      out.push_back(level.prefix + (*level.place.list)[i].id);
    }
  }
  return out;
}

bool IsLeafRow(const StepRecord& row) {
  const StepKind* kind = FindStepKind(row.type);
  return kind == nullptr || kind->traits().control == ControlFlow::kNone;
}

// True when the leaf `action` is where a rerun from `from_path` starts: the step
// itself, a leaf inside it, or the first leaf after it (a switch that took no branch).
bool Reaches(const CursorAction& action, const std::string& from_path) {
  if (action.path == from_path || action.path.starts_with(from_path + ".") ||
      action.path.starts_with(from_path + "[")) {
    return true;
  }
  for (const ControlEffect& e : action.effects) {
    if (e.path == from_path) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<std::string> ResolveFromStep(const Definition& definition, const std::string& from_step) {
  if (from_step.empty() || from_step.size() > kMaxFromStepLength) {
    return FromStepError("'from_step' must be a step id or path of 1 to " +
                         std::to_string(kMaxFromStepLength) + " characters");
  }
  if (from_step.find_first_of(".[") == std::string::npos) {
    return ResolveStepId(definition, from_step);
  }
  std::optional<std::vector<Segment>> segments = SplitPath(from_step);
  if (!segments) {
    return FromStepError("'from_step' '" + from_step +
                         "' is not a step path such as 'route.notify' or 'retry_loop[2].call'");
  }
  std::vector<const std::vector<StepDef>*> lists = {&definition.steps};
  for (size_t i = 0; i < segments->size(); ++i) {
    const Segment& seg = (*segments)[i];
    std::optional<Place> place = FindIn(lists, seg.id);
    if (!place) {
      return FromStepError("'from_step': this version of the workflow has no step '" + from_step +
                           "'");
    }
    const StepDef& step = (*place->list)[place->index];
    const bool loop = step.traits().control == ControlFlow::kLoop;
    const bool last = i + 1 == segments->size();
    if (seg.iteration && (!loop || *seg.iteration >= step.max_iterations)) {
      return FromStepError("'from_step' '" + from_step + "': " +
                           (loop ? "loop '" + step.id + "' has at most " +
                                       std::to_string(step.max_iterations) + " iterations"
                                 : "step '" + step.id + "' is not a loop"));
    }
    if (loop && !last && !seg.iteration) {
      return FromStepError("'from_step' '" + from_step + "': name the iteration of loop '" +
                           step.id + "', such as '" + step.id + "[0]'");
    }
    if (!last && !step.IsControl()) {
      return FromStepError("'from_step' '" + from_step + "': step '" + step.id +
                           "' contains no steps");
    }
    lists = ChildLists(step);
  }
  return from_step;
}

Result<RerunPlan> PlanRerun(std::shared_ptr<const Definition> definition, const json& input,
                            const json& run_scope, const std::vector<StepRecord>& earlier,
                            const std::string& from_path, int64_t now) {
  RerunPlan plan;
  if (from_path.empty()) {
    for (const StepDef& step : definition->steps) {
      plan.will_run.push_back(step.id);
    }
    return plan;
  }
  std::map<std::string, const StepRecord*, std::less<>> by_path;
  size_t completed_leaves = 0;
  for (const StepRecord& row : earlier) {
    by_path.emplace(row.path, &row);
    completed_leaves += IsLeafRow(row) && row.status == StepStatus::kCompleted ? 1 : 0;
  }
  const Definition& def = *definition;
  Cursor cursor(std::move(definition), input, run_scope);
  std::map<std::string, size_t> control_rows;  // path -> index in plan.steps
  // Each copied leaf is one of the earlier run's completed leaves (paths are unique).
  for (size_t n = 0; n <= completed_leaves; ++n) {
    CursorAction action = cursor.Next();
    if (action.kind != CursorAction::Kind::kExecute) {
      return FromStepError("'from_step' '" + from_path +
                           "' is not reached with this input and version: " +
                           (action.kind == CursorAction::Kind::kFail ? action.error.message()
                                                                     : "the run ends before it"));
    }
    auto it = by_path.find(action.path);
    const bool copy = !Reaches(action, from_path) && it != by_path.end() &&
                      it->second->status == StepStatus::kCompleted &&
                      it->second->type == action.step->type();
    if (!copy) {
      plan.will_run = PathsFrom(def, action.path);
      return plan;
    }
    for (const ControlEffect& e : action.effects) {
      StepRecord row;
      row.path = e.path;
      row.step_id = e.step->id;
      row.type = std::string(e.step->type());
      row.status = e.status;
      row.attempt = 1;
      auto before = by_path.find(e.path);
      row.started_at = before != by_path.end() ? before->second->started_at : now;
      if (e.status == StepStatus::kCompleted) {
        row.finished_at = before != by_path.end() ? before->second->finished_at : now;
        row.output = e.output;
        row.copied = true;  // finished before the rerun starts
      }
      auto [at, inserted] = control_rows.try_emplace(e.path, plan.steps.size());
      if (inserted) {
        plan.steps.push_back(std::move(row));
      } else {
        plan.steps[at->second] = std::move(row);
      }
    }
    StepRecord row = *it->second;
    row.seq = 0;
    row.copied = true;
    plan.kept.push_back(row.path);
    cursor.Complete(row.output);
    plan.steps.push_back(std::move(row));
  }
  return Internal("rerun walk of " + from_path + " did not end");
}

}  // namespace sw
