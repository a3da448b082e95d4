#include "core/definition.h"

#include <cctype>
#include <set>

#include "core/duration.h"
#include "core/expression.h"
#include "core/ids.h"
#include "core/step_references.h"
#include "core/steps/validation.h"
#include "core/time_format.h"
#include "core/workflow_safety.h"

namespace sw {

using nlohmann::json;

std::string_view ToString(WorkflowKind k) {
  return k == WorkflowKind::kScript ? "script" : "workflow";
}

std::string_view ToString(WorkflowMode m) {
  return m == WorkflowMode::kAgent ? "agent" : "standard";
}

namespace {

// Walks a definition document, collecting the first error.
class Parser final : public NestedStepParser {
 public:
  Result<std::vector<StepDef>> ParseNested(const json& list, std::string_view owner,
                                           std::string_view field, int depth) override {
    return ParseSteps(list, owner, field, depth + 1);
  }

  Result<std::vector<StepDef>> ParseSteps(const json& list, std::string_view owner,
                                          std::string_view field, int depth) {
    if (!list.is_array()) {
      return DefinitionError("'" + std::string(field) + "' must be a list of steps", owner, field);
    }
    if (list.empty()) {
      return DefinitionError("'" + std::string(field) + "' must not be empty", owner, field);
    }
    if (depth > kMaxNesting) {
      return DefinitionError("steps are nested deeper than " + std::to_string(kMaxNesting), owner,
                             field);
    }
    std::vector<StepDef> steps;
    for (const json& item : list) {
      Result<StepDef> step = ParseStep(item, depth);
      if (!step.ok()) {
        return step.status();
      }
      steps.push_back(std::move(step).value());
    }
    return steps;
  }

 private:
  Result<StepDef> ParseStep(const json& item, int depth) {
    if (!item.is_object()) {
      return DefinitionError("each step must be an object", "", "steps");
    }
    StepDef step;
    auto id_it = item.find("id");
    // Step ids start with a letter so that `steps.<id>` reads as a name in expressions.
    if (id_it == item.end() || !id_it->is_string() || !IsValidSlug(id_it->get<std::string>()) ||
        !std::isalpha(static_cast<unsigned char>(id_it->get<std::string>()[0]))) {
      return DefinitionError("each step needs an 'id' matching [a-z][a-z0-9-]{0,62}", "", "id");
    }
    step.id = id_it->get<std::string>();
    if (!ids_.insert(step.id).second) {
      return DefinitionError("duplicate step id", step.id, "id");
    }
    if (ids_.size() > kMaxSteps) {
      return DefinitionError("a definition has at most " + std::to_string(kMaxSteps) + " steps",
                             step.id, "steps");
    }
    if (Status s = ParseType(item, step); !s.ok()) {
      return s;
    }
    for (const auto& [key, value] : item.items()) {
      if (key == "id" || key == "type" || key == "name" || key == "with") {
        continue;
      }
      if (key == "timeout") {
        Result<std::chrono::milliseconds> timeout =
            value.is_string() ? ParseDuration(value.get<std::string>())
                              : Result<std::chrono::milliseconds>(InvalidArgument("not a string"));
        if (!timeout.ok()) {
          return DefinitionError("invalid timeout: " + timeout.status().message(), step.id,
                                 "timeout");
        }
        step.timeout = *timeout;
        continue;
      }
      if (key == "steps" && step.traits().owns_steps_field) {
        continue;
      }
      if (key == "retry" || key == "retry_on") {
        continue;
      }
      return DefinitionError("unknown field '" + key + "'", step.id, key);
    }
    if (item.contains("retry") || item.contains("retry_on")) {
      if (step.IsControl()) {
        return DefinitionError("a " + std::string(step.type()) + " step cannot retry", step.id,
                               item.contains("retry") ? "retry" : "retry_on");
      }
      Result<RetryPolicy> retry =
          ParseRetryPolicy(item.value("retry", json()), item.value("retry_on", json()));
      if (!retry.ok()) {
        return DefinitionError(retry.status(), step.id, "retry");
      }
      step.retry = std::move(retry).value();
    }
    if (auto with = item.find("with"); with != item.end()) {
      if (!with->is_object()) {
        return DefinitionError("'with' must be an object", step.id, "with");
      }
      step.with = *with;
    }
    if (Status s = step.kind->Validate(step, item, depth, *this); !s.ok()) {
      return s;
    }
    return step;
  }

  Status ParseType(const json& item, StepDef& step) {
    auto type_it = item.find("type");
    if (type_it == item.end() || !type_it->is_string()) {
      return DefinitionError("missing 'type'", step.id, "type");
    }
    std::string type = type_it->get<std::string>();
    if (const StepKind* kind = FindStepKind(type)) {
      step.kind = kind;
      return Status::Ok();
    }
    return DefinitionError("unknown step type '" + type + "'", step.id, "type");
  }

  std::set<std::string> ids_;
};

// Visits every step of the tree, depth first, until `fn` returns true.
template <typename Fn>
const StepDef* FindIf(const std::vector<StepDef>& steps, const Fn& fn) {
  for (const StepDef& s : steps) {
    if (fn(s)) {
      return &s;
    }
    if (const StepDef* found = FindIf(s.steps, fn)) {
      return found;
    }
    for (const SwitchCase& c : s.cases) {
      if (const StepDef* found = FindIf(c.steps, fn)) {
        return found;
      }
    }
    if (const StepDef* found = FindIf(s.default_steps, fn)) {
      return found;
    }
  }
  return nullptr;
}

}  // namespace

const StepDef* Definition::FindStep(std::string_view step_id) const {
  return FindIf(steps, [&](const StepDef& s) { return s.id == step_id; });
}

const StepDef* Definition::FindStepWith(bool StepTraits::*trait) const {
  return FindIf(steps, [&](const StepDef& s) { return s.traits().*trait; });
}

Result<std::shared_ptr<const Definition>> ParseDefinition(const json& doc,
                                                          std::string_view workflow_id) {
  if (!doc.is_object()) {
    return DefinitionError("a definition must be a JSON object", "", "");
  }
  auto def = std::make_shared<Definition>();
  def->id = std::string(workflow_id);
  for (const auto& [key, value] : doc.items()) {
    if (key == "id") {
      if (!value.is_string() || value.get<std::string>() != workflow_id) {
        return DefinitionError(
            "'id' must equal the workflow id in the URL ('" + std::string(workflow_id) + "')", "",
            "id");
      }
    } else if (key == "kind") {
      if (value == "workflow") {
        def->kind = WorkflowKind::kWorkflow;
      } else if (value == "script") {
        def->kind = WorkflowKind::kScript;
      } else {
        return DefinitionError("'kind' must be 'workflow' or 'script'", "", "kind");
      }
    } else if (key == "mode") {
      if (value == "standard") {
        def->mode = WorkflowMode::kStandard;
      } else if (value == "agent") {
        def->mode = WorkflowMode::kAgent;
      } else {
        return DefinitionError("'mode' must be 'standard' or 'agent'", "", "mode");
      }
    } else if (key == "limits") {
      if (!value.is_object()) {
        return DefinitionError("'limits' must be an object", "", "limits");
      }
      for (const auto& [name, limit] : value.items()) {
        if ((name != "max_runs_per_minute" && name != "max_steps_per_minute") ||
            !limit.is_number_integer() || limit.get<int64_t>() < 1 ||
            limit.get<int64_t>() > kMaxPerMinuteLimit) {
          return DefinitionError("'limits." + name + "' is not a known positive limit (at most " +
                                     std::to_string(kMaxPerMinuteLimit) + ")",
                                 "", "limits." + name);
        }
        (name == "max_runs_per_minute" ? def->max_runs_per_minute : def->max_steps_per_minute) =
            limit.get<int64_t>();
      }
      def->limits = value;
    } else if (key == "timeout") {
      Result<std::chrono::milliseconds> timeout =
          value.is_string() ? ParseDuration(value.get<std::string>())
                            : Result<std::chrono::milliseconds>(InvalidArgument("not a string"));
      if (!timeout.ok() || timeout->count() == 0) {
        return DefinitionError("'timeout' must be a positive duration like 10m", "", "timeout");
      }
      def->timeout = *timeout;
    } else if (key != "steps" && key != "name" && key != "description") {
      return DefinitionError("unknown field '" + key + "'", "", key);
    }
  }
  auto steps_it = doc.find("steps");
  if (steps_it == doc.end()) {
    return DefinitionError("missing 'steps'", "", "steps");
  }
  Parser parser;
  Result<std::vector<StepDef>> steps = parser.ParseSteps(*steps_it, "", "steps", 0);
  if (!steps.ok()) {
    return steps.status();
  }
  def->steps = std::move(steps).value();
  if (Status s = CheckStepReferences(def->steps); !s.ok()) {
    return s;
  }
  Status checked = Status::Ok();
  FindIf(def->steps, [&](const StepDef& s) {
    checked = s.kind->CheckInWorkflow(s, def->id);
    return !checked.ok();
  });
  if (!checked.ok()) {
    return checked;
  }
  if (def->kind == WorkflowKind::kScript) {
    // A script runs in the caller's request, without a run record.
    if (const StepDef* refused =
            FindIf(def->steps, [](const StepDef& s) { return !s.traits().allowed_in_scripts; })) {
      return DefinitionError(
          "a script runs synchronously and cannot use '" + std::string(refused->type()) + "'",
          refused->id, "type");
    }
  }
  return std::shared_ptr<const Definition>(std::move(def));
}

}  // namespace sw
