// Expressions `${{ ... }}` in definitions: a small safe language, never an eval.
//
//   expr    := or
//   or      := and ("||" and)*
//   and     := unary ("&&" unary)*
//   unary   := "!" unary | compare
//   compare := primary (("==" | "!=" | "<" | "<=" | ">" | ">=") primary)?
//   primary := literal | path | "(" expr ")"
//   literal := number | 'string' | "string" | true | false | null
//   path    := ("input" | "steps" | "run") ("." name | "[" integer "]")*
//
// A path that does not exist evaluates to null. `==`/`!=` compare any JSON values
// (numbers by value: 1 == 1.0); `<` and friends need two numbers or two strings,
// else evaluation fails. `&&`, `||` and `!` use truthiness (null, false, 0 and ""
// are false; everything else true) and give booleans.
//
// Immutable after Parse; thread-safe.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace sw {

// Bound on the length of one expression's source text and on its nesting depth.
inline constexpr size_t kMaxExpressionLength = 4096;
inline constexpr int kMaxExpressionDepth = 32;

class Expression {
 public:
  // Parses the text between "${{" and "}}". Errors are kInvalidArgument with the
  // position, e.g. "unexpected ')' at 7".
  static Result<Expression> Parse(std::string_view source);

  // `scope` is {"input": ..., "steps": {"<id>": {"output": ...}}, "run": {...}}.
  Result<nlohmann::json> Evaluate(const nlohmann::json& scope) const;

  struct Node;

 private:
  explicit Expression(std::shared_ptr<const Node> root) : root_(std::move(root)) {}
  std::shared_ptr<const Node> root_;  // Shared by copies; immutable.
};

// Renders a JSON value from a definition: every string is scanned for `${{ ... }}`.
// A string that is exactly one expression (surrounding whitespace inside the braces
// allowed) takes the expression's JSON type; otherwise each expression is replaced by
// its text (strings as they are, null as "", other values as compact JSON).
// Objects and arrays are rendered recursively (keys are not templated).
Result<nlohmann::json> RenderTemplate(const nlohmann::json& value, const nlohmann::json& scope);

// Parses every expression inside `value` without evaluating: for validation on apply.
// An unterminated "${{" is an error.
Status ValidateTemplate(const nlohmann::json& value);

// A reference from an expression to a step: `steps.<id>` and whatever follows it.
struct StepReference {
  std::string step_id;
  std::string pointer;  // JSON pointer of the string inside the value ("": the value)
};

// The steps the expressions inside `value` refer to, in the order written. Errors as
// ValidateTemplate's.
Result<std::vector<StepReference>> FindStepReferences(const nlohmann::json& value);
// The steps a condition (with or without its ${{ }}) refers to.
Result<std::vector<std::string>> FindConditionStepReferences(std::string_view condition);

// Evaluates a condition string such as "${{ steps.a.output.done == true }}" (the
// `${{ }}` may be omitted) to its truthiness.
Result<bool> EvaluateCondition(std::string_view condition, const nlohmann::json& scope);

}  // namespace sw
