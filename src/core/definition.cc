#include "core/definition.h"

#include <cctype>
#include <set>

#include "core/duration.h"
#include "core/expression.h"
#include "core/ids.h"
#include "core/time_format.h"

namespace sw {

using nlohmann::json;

std::string_view ToString(StepType t) {
  switch (t) {
    case StepType::kNoop:
      return "noop";
    case StepType::kFail:
      return "fail";
    case StepType::kHttp:
      return "http";
    case StepType::kShell:
      return "shell";
    case StepType::kSleep:
      return "sleep";
    case StepType::kSleepUntil:
      return "sleep_until";
    case StepType::kWaitForEvent:
      return "wait_for_event";
    case StepType::kLoop:
      return "loop";
    case StepType::kSwitch:
      return "switch";
    case StepType::kWorkflow:
      return "workflow";
    case StepType::kAgentTask:
      return "agent_task";
  }
  return "unknown";
}

std::string_view ToString(WorkflowKind k) {
  return k == WorkflowKind::kScript ? "script" : "workflow";
}

std::string_view ToString(WorkflowMode m) {
  return m == WorkflowMode::kAgent ? "agent" : "standard";
}

namespace {

constexpr StepType kStepTypes[] = {
    StepType::kNoop,   StepType::kFail,       StepType::kHttp,         StepType::kShell,
    StepType::kSleep,  StepType::kSleepUntil, StepType::kWaitForEvent, StepType::kLoop,
    StepType::kSwitch, StepType::kWorkflow,   StepType::kAgentTask};

// Step types of DESIGN.md that later work adds; named so the error is precise.
constexpr std::string_view kLaterStepTypes[] = {"approval", "form"};

Status DefinitionError(std::string message, std::string_view step_id, std::string_view field) {
  json extra = json::object();
  if (!step_id.empty()) {
    extra["step_id"] = step_id;
    message = "step '" + std::string(step_id) + "': " + message;
  }
  extra["field"] = field;
  return Status(StatusCode::kInvalidArgument, std::move(message), "invalid_definition",
                std::move(extra));
}

// Walks a definition document, collecting the first error.
class Parser {
 public:
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
      if (key == "steps" && step.type == StepType::kLoop) {
        continue;
      }
      if (key == "retry" || key == "retry_on") {
        continue;
      }
      return DefinitionError("unknown field '" + key + "'", step.id, key);
    }
    if (item.contains("retry") || item.contains("retry_on")) {
      if (step.IsControl()) {
        return DefinitionError("a " + std::string(ToString(step.type)) + " step cannot retry",
                               step.id, item.contains("retry") ? "retry" : "retry_on");
      }
      Result<RetryPolicy> retry =
          ParseRetryPolicy(item.value("retry", json()), item.value("retry_on", json()));
      if (!retry.ok()) {
        return DefinitionError(retry.status().message(), step.id,
                               retry.status().extra().value("field", "retry"));
      }
      step.retry = std::move(retry).value();
    }
    if (auto with = item.find("with"); with != item.end()) {
      if (!with->is_object()) {
        return DefinitionError("'with' must be an object", step.id, "with");
      }
      step.with = *with;
    }
    if (Status s = ValidateWith(step, item, depth); !s.ok()) {
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
    for (StepType t : kStepTypes) {
      if (ToString(t) == type) {
        step.type = t;
        return Status::Ok();
      }
    }
    for (std::string_view later : kLaterStepTypes) {
      if (later == type) {
        return DefinitionError("step type '" + type + "' is not supported by this server", step.id,
                               "type");
      }
    }
    return DefinitionError("unknown step type '" + type + "'", step.id, "type");
  }

  // Checks that `with` has only `allowed` keys and every `required` one, and (unless
  // `templates` is false) that every expression in its values parses.
  Status CheckKeys(const StepDef& step, std::initializer_list<std::string_view> allowed,
                   std::initializer_list<std::string_view> required, bool templates = true) {
    for (const auto& [key, value] : step.with.items()) {
      bool known = false;
      for (std::string_view a : allowed) {
        known = known || a == key;
      }
      if (!known) {
        return DefinitionError("unknown field 'with." + key + "'", step.id, "with." + key);
      }
    }
    for (std::string_view r : required) {
      if (!step.with.contains(r)) {
        return DefinitionError("missing 'with." + std::string(r) + "'", step.id,
                               "with." + std::string(r));
      }
    }
    if (!templates) {
      return Status::Ok();
    }
    for (const auto& [key, value] : step.with.items()) {
      if (Status s = ValidateTemplate(value); !s.ok()) {
        return DefinitionError("invalid expression in 'with." + key + "': " + s.message(), step.id,
                               "with." + key);
      }
    }
    return Status::Ok();
  }

  static bool IsTemplated(const json& v) {
    return v.is_string() && v.get<std::string>().find("${{") != std::string::npos;
  }

  Status CheckString(const StepDef& step, std::string_view key, bool required) {
    auto it = step.with.find(key);
    if (it == step.with.end()) {
      return required ? DefinitionError("missing 'with." + std::string(key) + "'", step.id,
                                        "with." + std::string(key))
                      : Status::Ok();
    }
    if (!it->is_string()) {
      return DefinitionError("'with." + std::string(key) + "' must be a string", step.id,
                             "with." + std::string(key));
    }
    return Status::Ok();
  }

  Status CheckDuration(const StepDef& step, std::string_view key) {
    auto it = step.with.find(key);
    if (it == step.with.end() || IsTemplated(*it)) {
      return Status::Ok();
    }
    Result<std::chrono::milliseconds> d =
        it->is_string() ? ParseDuration(it->get<std::string>())
                        : Result<std::chrono::milliseconds>(InvalidArgument("not a string"));
    if (!d.ok()) {
      return DefinitionError(
          "invalid duration in 'with." + std::string(key) + "': " + d.status().message(), step.id,
          "with." + std::string(key));
    }
    return Status::Ok();
  }

  Status ValidateWith(StepDef& step, const json& item, int depth) {
    switch (step.type) {
      case StepType::kNoop:
        return CheckKeys(step, {"value"}, {});
      case StepType::kFail: {
        if (Status s = CheckKeys(step, {"message", "code"}, {}); !s.ok()) {
          return s;
        }
        if (Status s = CheckString(step, "message", false); !s.ok()) {
          return s;
        }
        return CheckString(step, "code", false);
      }
      case StepType::kHttp:
        return ValidateHttp(step);
      case StepType::kSleep:
        if (Status s = CheckKeys(step, {"duration"}, {"duration"}); !s.ok()) {
          return s;
        }
        return CheckDuration(step, "duration");
      case StepType::kSleepUntil:
        return ValidateSleepUntil(step);
      case StepType::kWaitForEvent: {
        if (Status s = CheckKeys(step, {"event_type", "timeout"}, {"event_type"}); !s.ok()) {
          return s;
        }
        if (Status s = CheckString(step, "event_type", true); !s.ok()) {
          return s;
        }
        return CheckDuration(step, "timeout");
      }
      case StepType::kLoop:
        return ValidateLoop(step, item, depth);
      case StepType::kSwitch:
        return ValidateSwitch(step, depth);
      case StepType::kShell:
        return ValidateShell(step);
      case StepType::kWorkflow: {
        if (Status s = CheckKeys(step, {"workflow", "input"}, {"workflow"}); !s.ok()) {
          return s;
        }
        const json& wf = step.with["workflow"];
        if (!wf.is_string() || !IsValidSlug(wf.get<std::string>())) {
          return DefinitionError("'with.workflow' must be a workflow id", step.id, "with.workflow");
        }
        return Status::Ok();
      }
      case StepType::kAgentTask: {
        if (Status s = CheckKeys(step, {"queue", "input"}, {"queue"}); !s.ok()) {
          return s;
        }
        const json& queue = step.with["queue"];
        if (!queue.is_string() || !IsValidSlug(queue.get<std::string>())) {
          return DefinitionError("'with.queue' must be a queue name matching [a-z0-9-]{1,63}",
                                 step.id, "with.queue");
        }
        return Status::Ok();
      }
    }
    return Status::Ok();
  }

  Status ValidateShell(const StepDef& step) {
    if (Status s = CheckKeys(step, {"argv", "env", "cwd"}, {"argv"}); !s.ok()) {
      return s;
    }
    const json& argv = step.with["argv"];
    if (!argv.is_array() || argv.empty()) {
      return DefinitionError("'with.argv' must be a non-empty list of strings", step.id,
                             "with.argv");
    }
    for (size_t i = 0; i < argv.size(); ++i) {
      if (!argv[i].is_string() || (i == 0 && argv[i].get<std::string>().empty())) {
        return DefinitionError("'with.argv' must be a non-empty list of strings", step.id,
                               "with.argv[" + std::to_string(i) + "]");
      }
    }
    if (step.with.contains("env")) {
      const json& env = step.with["env"];
      if (!env.is_object()) {
        return DefinitionError("'with.env' must be an object of strings", step.id, "with.env");
      }
      for (const auto& [name, value] : env.items()) {
        if (!value.is_string() || name.empty() || name.find('=') != std::string::npos) {
          return DefinitionError("'with.env." + name + "' must be a string", step.id,
                                 "with.env." + name);
        }
      }
    }
    return CheckString(step, "cwd", false);
  }

  Status ValidateHttp(const StepDef& step) {
    if (Status s = CheckKeys(step, {"method", "url", "headers", "body", "connection"}, {"url"});
        !s.ok()) {
      return s;
    }
    if (Status s = CheckString(step, "url", true); !s.ok()) {
      return s;
    }
    const std::string url = step.with["url"].get<std::string>();
    if (!IsTemplated(step.with["url"]) && url.rfind("http://", 0) != 0 &&
        url.rfind("https://", 0) != 0) {
      return DefinitionError("'with.url' must start with http:// or https://", step.id, "with.url");
    }
    if (Status s = CheckString(step, "method", false); !s.ok()) {
      return s;
    }
    if (step.with.contains("method")) {
      static const std::set<std::string> kMethods = {"GET",    "POST", "PUT",    "PATCH",
                                                     "DELETE", "HEAD", "OPTIONS"};
      if (!kMethods.contains(step.with["method"].get<std::string>())) {
        return DefinitionError(
            "'with.method' must be one of GET, POST, PUT, PATCH, DELETE, "
            "HEAD, OPTIONS",
            step.id, "with.method");
      }
    }
    if (step.with.contains("headers")) {
      const json& headers = step.with["headers"];
      if (!headers.is_object()) {
        return DefinitionError("'with.headers' must be an object of strings", step.id,
                               "with.headers");
      }
      for (const auto& [name, value] : headers.items()) {
        if (!value.is_string()) {
          return DefinitionError("header '" + name + "' must be a string", step.id,
                                 "with.headers." + name);
        }
      }
    }
    return CheckString(step, "connection", false);
  }

  Status ValidateSleepUntil(const StepDef& step) {
    if (Status s = CheckKeys(step, {"at"}, {"at"}); !s.ok()) {
      return s;
    }
    if (Status s = CheckString(step, "at", true); !s.ok()) {
      return s;
    }
    if (!IsTemplated(step.with["at"])) {
      Result<int64_t> at = ParseTime(step.with["at"].get<std::string>());
      if (!at.ok()) {
        return DefinitionError("'with.at' is not an RFC 3339 time: " + at.status().message(),
                               step.id, "with.at");
      }
    }
    return Status::Ok();
  }

  Status ValidateLoop(StepDef& step, const json& item, int depth) {
    if (Status s = CheckKeys(step, {"max_iterations", "until"}, {"max_iterations"}); !s.ok()) {
      return s;
    }
    const json& max = step.with["max_iterations"];
    if (!max.is_number_integer() || max.get<int64_t>() < 1 ||
        max.get<int64_t>() > kMaxLoopIterations) {
      return DefinitionError("'with.max_iterations' must be an integer from 1 to " +
                                 std::to_string(kMaxLoopIterations),
                             step.id, "with.max_iterations");
    }
    step.max_iterations = max.get<int>();
    if (step.with.contains("until")) {
      if (Status s = CheckString(step, "until", false); !s.ok()) {
        return s;
      }
      step.until = step.with["until"].get<std::string>();
      if (Status s = ValidateCondition(step.until); !s.ok()) {
        return DefinitionError("invalid expression: " + s.message(), step.id, "with.until");
      }
    }
    auto body = item.find("steps");
    if (body == item.end()) {
      return DefinitionError("a loop needs 'steps'", step.id, "steps");
    }
    Result<std::vector<StepDef>> steps = ParseSteps(*body, step.id, "steps", depth + 1);
    if (!steps.ok()) {
      return steps.status();
    }
    step.steps = std::move(steps).value();
    return Status::Ok();
  }

  Status ValidateSwitch(StepDef& step, int depth) {
    // A switch's `with` holds conditions and nested steps, each validated below with
    // the field (and the nested step) at fault; no blanket template check.
    if (Status s = CheckKeys(step, {"cases", "default"}, {"cases"}, /*templates=*/false); !s.ok()) {
      return s;
    }
    const json& cases = step.with["cases"];
    if (!cases.is_array() || cases.empty()) {
      return DefinitionError("'with.cases' must be a non-empty list", step.id, "with.cases");
    }
    for (size_t i = 0; i < cases.size(); ++i) {
      const std::string field = "with.cases[" + std::to_string(i) + "]";
      const json& c = cases[i];
      if (!c.is_object() || !c.contains("when") || !c["when"].is_string() || !c.contains("steps")) {
        return DefinitionError("each case needs 'when' (a string) and 'steps'", step.id, field);
      }
      for (const auto& [key, value] : c.items()) {
        if (key != "when" && key != "steps") {
          return DefinitionError("unknown field '" + key + "'", step.id, field + "." + key);
        }
      }
      SwitchCase sc;
      sc.when = c["when"].get<std::string>();
      if (Status s = ValidateCondition(sc.when); !s.ok()) {
        return DefinitionError("invalid expression: " + s.message(), step.id, field + ".when");
      }
      Result<std::vector<StepDef>> steps =
          ParseSteps(c["steps"], step.id, field + ".steps", depth + 1);
      if (!steps.ok()) {
        return steps.status();
      }
      sc.steps = std::move(steps).value();
      step.cases.push_back(std::move(sc));
    }
    if (step.with.contains("default")) {
      Result<std::vector<StepDef>> steps =
          ParseSteps(step.with["default"], step.id, "with.default", depth + 1);
      if (!steps.ok()) {
        return steps.status();
      }
      step.default_steps = std::move(steps).value();
    }
    // Nested steps live in `cases`/`default_steps`; keep `with` small for templating.
    step.with = json::object();
    return Status::Ok();
  }

  // A condition is exactly one expression, with or without the ${{ }} wrapper (as
  // EvaluateCondition reads it).
  static Status ValidateCondition(const std::string& text) {
    const size_t first = text.find_first_not_of(" \t\n");
    const size_t last = text.find_last_not_of(" \t\n");
    if (first == std::string::npos) {
      return InvalidArgument("the condition is empty");
    }
    std::string body = text.substr(first, last - first + 1);
    if (body.rfind("${{", 0) == 0 && body.size() >= 5 && body.ends_with("}}")) {
      body = body.substr(3, body.size() - 5);
    }
    if (body.find("${{") != std::string::npos) {
      return InvalidArgument("a condition must be exactly one expression");
    }
    return Expression::Parse(body).status();
  }

  std::set<std::string> ids_;
};

}  // namespace

namespace {

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

// Steps that park a run or run a process: a script (run synchronously, no run record)
// cannot have them.
const StepDef* FindParkingStep(const std::vector<StepDef>& steps) {
  return FindIf(steps, [](const StepDef& s) {
    return s.type == StepType::kSleep || s.type == StepType::kSleepUntil ||
           s.type == StepType::kWaitForEvent || s.type == StepType::kWorkflow ||
           s.type == StepType::kAgentTask || s.type == StepType::kShell;
  });
}

}  // namespace

const StepDef* Definition::FindStep(std::string_view step_id) const {
  return FindIf(steps, [&](const StepDef& s) { return s.id == step_id; });
}

const StepDef* Definition::FindStepOfType(StepType type) const {
  return FindIf(steps, [&](const StepDef& s) { return s.type == type; });
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
            !limit.is_number_integer() || limit.get<int64_t>() < 1) {
          return DefinitionError("'limits." + name + "' is not a known positive limit", "",
                                 "limits." + name);
        }
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
  if (const StepDef* self = FindIf(def->steps,
                                   [&](const StepDef& s) {
                                     return s.type == StepType::kWorkflow &&
                                            s.with["workflow"] == def->id;
                                   });
      self != nullptr) {
    return DefinitionError("a workflow cannot start a run of itself", self->id, "with.workflow");
  }
  if (def->kind == WorkflowKind::kScript) {
    if (const StepDef* parked = FindParkingStep(def->steps)) {
      return DefinitionError("a script runs synchronously and cannot use '" +
                                 std::string(ToString(parked->type)) + "'",
                             parked->id, "type");
    }
  }
  return std::shared_ptr<const Definition>(std::move(def));
}

}  // namespace sw
