// Expressions, conditions and templates (core/expression.h) on any text, evaluated
// against a scope shaped like a run's.
#include "core/expression.h"
#include "fuzz/fuzz_input.h"

namespace {

const nlohmann::json& Scope() {
  static const nlohmann::json scope = nlohmann::json::parse(R"({
    "input": {"n": 3, "name": "ada", "list": [1, 2.5, "x", null, true], "nested": {"a": {"b": []}}},
    "steps": {"a": {"output": {"status": 200, "body": {"items": [{"id": 1}]}}},
              "b": {"output": "text"}},
    "run": {"id": "run_01", "workflow_id": "wf"},
    "loop": {"item": {"k": "v"}, "index": 0}
  })");
  return scope;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = sw::fuzz::Text(data, size);
  if (sw::Result<sw::Expression> e = sw::Expression::Parse(text); e.ok()) {
    (void)e->Evaluate(Scope());
  }
  (void)sw::EvaluateCondition(text, Scope());
  (void)sw::FindConditionStepReferences(text);
  const nlohmann::json as_template = std::string(text);
  if (sw::ValidateTemplate(as_template).ok()) {
    (void)sw::RenderTemplate(as_template, Scope());
    (void)sw::FindStepReferences(as_template);
  }
  return 0;
}
