#include "core/json_schema_errors.h"

#include <algorithm>
#include <cmath>
#include <exception>
#include <regex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/subschema.hpp>
#include <valijson/validation_visitor.hpp>

#include "core/json_schema_messages.h"
#include "core/json_schema_parse.h"

namespace sw::schema_internal {
namespace {

using nlohmann::json;
using valijson::Subschema;
using valijson::adapters::NlohmannJsonAdapter;
namespace vc = valijson::constraints;

// One failed keyword before it becomes a SchemaError. A type mismatch keeps the types
// the schema wanted, so that the failed branches of an anyOf can become one sentence.
struct Issue {
  std::string path;
  std::string message;
  std::vector<JsonType> wanted;  // Non-empty only for a type mismatch.
};
using Issues = std::vector<Issue>;

// What one validation's walkers share: patterns compiled once per call.
struct WalkState {
  std::unordered_map<std::string, std::regex> regexes;  // Valijson's cache type.

  const std::regex& Regex(const std::string& pattern) {
    auto it = regexes.find(pattern);
    if (it == regexes.end()) {
      it = regexes.emplace(pattern, std::regex(pattern)).first;
    }
    return it->second;
  }
};

std::string Quoted(std::string_view text) { return json(text).dump(); }

// Draft 7: an integer is any number without a fractional part, 1.0 included.
bool HasType(const json& value, JsonType type) {
  switch (type) {
    case JsonType::kArray:
      return value.is_array();
    case JsonType::kBoolean:
      return value.is_boolean();
    case JsonType::kInteger:
      return value.is_number_integer() ||
             (value.is_number_float() && std::isfinite(value.get<double>()) &&
              std::trunc(value.get<double>()) == value.get<double>());
    case JsonType::kNull:
      return value.is_null();
    case JsonType::kNumber:
      return value.is_number();
    case JsonType::kObject:
      return value.is_object();
    case JsonType::kString:
      return value.is_string();
    case JsonType::kAny:
      break;
  }
  return true;
}

// One `@` with something on either side and no white space: what a form can check
// without sending mail.
bool IsEmailAddress(const std::string& text) {
  size_t at = text.find('@');
  if (at == std::string::npos || at == 0 || at + 1 == text.size() ||
      text.find('@', at + 1) != std::string::npos) {
    return false;
  }
  return std::none_of(text.begin(), text.end(),
                      [](unsigned char c) { return c <= ' ' || c == 0x7f; });
}

std::string Text(const Issue& issue) {
  return issue.wanted.empty() ? issue.message : TypesText(issue.wanted);
}

size_t Depth(const Issues& issues) {
  size_t depth = 0;
  for (const Issue& issue : issues) {
    depth = std::max<size_t>(depth, std::count(issue.path.begin(), issue.path.end(), '/'));
  }
  return depth;
}

// Walks one value against one subschema, appending to `out`; a keyword that combines
// subschemas walks them with walkers of its own.
class ErrorWalker final : public vc::ConstraintVisitor {
 public:
  ErrorWalker(WalkState& state, const json& value, std::string path, int depth, Issues& out)
      : state_(state), value_(value), path_(std::move(path)), depth_(depth), out_(out) {}

  void Walk(const Subschema& schema) {
    if (depth_ > kMaxSchemaWalkDepth) {
      Add("is nested too deeply to check: more than " + std::to_string(kMaxSchemaWalkDepth) +
          " levels of schema");
      return;
    }
    if (schema.getAlwaysInvalid()) {
      Add("is not allowed");
      return;
    }
    Subschema::ApplyFunction each = [this](const vc::Constraint& constraint) {
      constraint.accept(*this);
      return true;
    };
    schema.apply(each);
  }

  // Every visit answers true: the verdict is whether anything reached `out_`.

  bool visit(const vc::AllOfConstraint& c) override {
    c.applyToSubschemas([this](unsigned, const Subschema* schema) {
      Descend(value_, path_, *schema);
      return true;
    });
    return true;
  }

  bool visit(const vc::AnyOfConstraint& c) override {
    std::vector<Issues> failed;
    bool matched = false;
    c.applyToSubschemas([&](unsigned, const Subschema* schema) {
      Issues issues = IssuesOf(value_, path_, *schema);
      matched = issues.empty();
      failed.push_back(std::move(issues));
      return !matched;
    });
    if (!matched) {
      AddBestBranch(failed, "must match at least one of the schemas in anyOf");
    }
    return true;
  }

  bool visit(const vc::OneOfConstraint& c) override {
    std::vector<Issues> failed;
    size_t matched = 0;
    c.applyToSubschemas([&](unsigned, const Subschema* schema) {
      Issues issues = IssuesOf(value_, path_, *schema);
      matched += issues.empty() ? 1 : 0;
      failed.push_back(std::move(issues));
      return true;
    });
    if (matched == 0) {
      AddBestBranch(failed, "must match exactly one of the schemas in oneOf");
    } else if (matched > 1) {
      Add("must match exactly one of the schemas in oneOf, but matches " + std::to_string(matched));
    }
    return true;
  }

  bool visit(const vc::NotConstraint& c) override {
    // Valijson leaves the subschema null for an empty `not`, which nothing passes.
    if (c.getSubschema() == nullptr || IssuesOf(value_, path_, *c.getSubschema()).empty()) {
      Add("must not match the schema in not");
    }
    return true;
  }

  bool visit(const vc::ConditionalConstraint& c) override {
    bool if_holds = IssuesOf(value_, path_, *c.getIfSubschema()).empty();
    const Subschema* next = if_holds ? c.getThenSubschema() : c.getElseSubschema();
    if (next != nullptr) {
      Descend(value_, path_, *next);
    }
    return true;
  }

  bool visit(const vc::ContainsConstraint& c) override {
    if (!value_.is_array()) {
      return true;
    }
    for (size_t i = 0; i < value_.size(); ++i) {
      if (IssuesOf(value_[i], PointerChild(path_, i), *c.getSubschema()).empty()) {
        return true;
      }
    }
    Add("must contain an item that matches the schema in contains");
    return true;
  }

  bool visit(const vc::DependenciesConstraint& c) override {
    if (!value_.is_object()) {
      return true;
    }
    c.applyToPropertyDependencies([this](const auto& name, const auto& needed) {
      if (value_.contains(std::string(name.c_str()))) {
        for (const auto& other : needed) {
          if (!value_.contains(std::string(other.c_str()))) {
            AddAt(PointerChild(path_, other.c_str()),
                  "is required when " + Quoted(name.c_str()) + " is present");
          }
        }
      }
      return true;
    });
    c.applyToSchemaDependencies([this](const auto& name, const Subschema* schema) {
      if (value_.contains(std::string(name.c_str()))) {
        Descend(value_, path_, *schema);
      }
      return true;
    });
    return true;
  }

  bool visit(const vc::FormatConstraint& c) override {
    if (!value_.is_string()) {
      return true;
    }
    const std::string& format = c.getFormat();
    bool valid =
        format == "email" ? IsEmailAddress(value_.get_ref<const std::string&>()) : LibraryAllows(c);
    if (!valid) {
      Add(FormatText(format));
    }
    return true;
  }

  bool visit(const vc::LinearItemsConstraint& c) override {
    if (!value_.is_array()) {
      return true;
    }
    c.applyToItemSubschemas([this](unsigned i, const Subschema* schema) {
      if (i >= value_.size()) {
        return false;
      }
      Descend(value_[i], PointerChild(path_, i), *schema);
      return true;
    });
    size_t positional = c.getItemSubschemaCount();
    const Subschema* additional = c.getAdditionalItemsSubschema();
    if (value_.size() > positional && additional == nullptr) {
      Add("must have at most " + CountText(positional, "item", "items"));
      return true;
    }
    for (size_t i = positional; i < value_.size(); ++i) {
      Descend(value_[i], PointerChild(path_, i), *additional);
    }
    return true;
  }

  bool visit(const vc::MaximumConstraint& c) override {
    return Leaf(value_.is_number(), c, [&c] {
      return (c.getExclusiveMaximum() ? "must be less than " : "must be at most ") +
             NumberText(c.getMaximum());
    });
  }

  bool visit(const vc::MinimumConstraint& c) override {
    return Leaf(value_.is_number(), c, [&c] {
      return (c.getExclusiveMinimum() ? "must be greater than " : "must be at least ") +
             NumberText(c.getMinimum());
    });
  }

  bool visit(const vc::MaxItemsConstraint& c) override {
    return Leaf(value_.is_array(), c, [&c] {
      return "must have at most " + CountText(c.getMaxItems(), "item", "items");
    });
  }

  bool visit(const vc::MinItemsConstraint& c) override {
    return Leaf(value_.is_array(), c, [&c] {
      return "must have at least " + CountText(c.getMinItems(), "item", "items");
    });
  }

  bool visit(const vc::MaxLengthConstraint& c) override {
    return Leaf(value_.is_string(), c, [&c] {
      return "must be at most " + CountText(c.getMaxLength(), "character", "characters") + " long";
    });
  }

  bool visit(const vc::MinLengthConstraint& c) override {
    return Leaf(value_.is_string(), c, [&c] {
      return "must be at least " + CountText(c.getMinLength(), "character", "characters") + " long";
    });
  }

  bool visit(const vc::MaxPropertiesConstraint& c) override {
    return Leaf(value_.is_object(), c, [&c] {
      return "must have at most " + CountText(c.getMaxProperties(), "property", "properties");
    });
  }

  bool visit(const vc::MinPropertiesConstraint& c) override {
    return Leaf(value_.is_object(), c, [&c] {
      return "must have at least " + CountText(c.getMinProperties(), "property", "properties");
    });
  }

  bool visit(const vc::MultipleOfDoubleConstraint& c) override {
    return Leaf(value_.is_number(), c,
                [&c] { return "must be a multiple of " + NumberText(c.getDivisor()); });
  }

  bool visit(const vc::MultipleOfIntConstraint& c) override {
    return Leaf(value_.is_number(), c,
                [&c] { return "must be a multiple of " + std::to_string(c.getDivisor()); });
  }

  bool visit(const vc::PatternConstraint& c) override {
    if (!value_.is_string()) {
      return true;
    }
    std::string pattern = c.getPattern<std::allocator<char>>();
    if (value_.get_ref<const std::string&>().size() > kMaxPatternSubjectLength) {
      Add(TooLongForPattern(pattern));
    } else if (!LibraryAllows(c)) {
      Add("must match the pattern " + pattern);
    }
    return true;
  }

  bool visit(const vc::PolyConstraint& c) override {
    const auto* values = dynamic_cast<const ValuesConstraint*>(&c);
    if (values != nullptr && !values->Allows(value_)) {
      Add(values->Message());
    }
    return true;
  }

  bool visit(const vc::PropertiesConstraint& c) override;

  bool visit(const vc::PropertyNamesConstraint& c) override {
    if (!value_.is_object()) {
      return true;
    }
    for (auto it = value_.begin(); it != value_.end(); ++it) {
      std::string path = PointerChild(path_, it.key());
      Issues issues = IssuesOf(json(it.key()), path, *c.getSubschema());
      if (!issues.empty()) {
        AddAt(path, "has a name that is not allowed (the name " + Text(issues.front()) + ")");
      }
    }
    return true;
  }

  bool visit(const vc::RequiredConstraint& c) override {
    if (!value_.is_object()) {
      return true;
    }
    c.applyToRequiredProperties([this](const auto& name) {
      if (!value_.contains(std::string(name.c_str()))) {
        AddAt(PointerChild(path_, name.c_str()), "is required");
      }
      return true;
    });
    return true;
  }

  bool visit(const vc::SingularItemsConstraint& c) override {
    if (!value_.is_array() || c.getItemsSubschema() == nullptr) {
      return true;
    }
    for (size_t i = 0; i < value_.size(); ++i) {
      Descend(value_[i], PointerChild(path_, i), *c.getItemsSubschema());
    }
    return true;
  }

  bool visit(const vc::TypeConstraint& c) override {
    std::vector<JsonType> wanted;
    bool matched = false;
    c.applyToNamedTypes([&](JsonType type) {
      wanted.push_back(type);
      matched = matched || HasType(value_, type);
      return true;
    });
    if (!matched && !wanted.empty()) {
      out_.push_back({path_, "", std::move(wanted)});
    }
    return true;
  }

  bool visit(const vc::UniqueItemsConstraint& c) override {
    return Leaf(value_.is_array(), c, [] { return "must not contain the same item twice"; });
  }

  // The ValuesConstraint beside each of these decides instead (core/json_schema_parse.h).
  bool visit(const vc::ConstConstraint&) override { return true; }
  bool visit(const vc::EnumConstraint&) override { return true; }

 private:
  static std::string TooLongForPattern(const std::string& pattern) {
    return "must be at most " + std::to_string(kMaxPatternSubjectLength) +
           " characters long to be checked against the pattern " + pattern;
  }

  void Add(std::string message) { AddAt(path_, std::move(message)); }
  void AddAt(std::string path, std::string message) {
    out_.push_back({std::move(path), std::move(message), {}});
  }

  // Walks `value` (this value or one inside it) into this walker's output.
  void Descend(const json& value, std::string path, const Subschema& schema) {
    ErrorWalker(state_, value, std::move(path), depth_ + 1, out_).Walk(schema);
  }

  // The issues of `value` against `schema`, apart from this walker's output.
  Issues IssuesOf(const json& value, std::string path, const Subschema& schema) {
    Issues issues;
    ErrorWalker(state_, value, std::move(path), depth_ + 1, issues).Walk(schema);
    return issues;
  }

  // Valijson's verdict on a leaf keyword for this value.
  template <typename Constraint>
  bool LibraryAllows(const Constraint& c) {
    NlohmannJsonAdapter target(value_);
    valijson::ValidationVisitor<NlohmannJsonAdapter> library(target, {}, /*strictTypes=*/true,
                                                             nullptr, state_.regexes);
    return c.accept(library);
  }

  // A leaf keyword valijson decides, on the kind of value it applies to; the message is
  // built only for a value that fails.
  template <typename Constraint, typename Message>
  bool Leaf(bool applies, const Constraint& c, const Message& message) {
    if (applies && !LibraryAllows(c)) {
      Add(message());
    }
    return true;
  }

  void AddBestBranch(const std::vector<Issues>& failed, const std::string& fallback);

  WalkState& state_;
  const json& value_;
  std::string path_;
  int depth_;
  Issues& out_;
};

bool ErrorWalker::visit(const vc::PropertiesConstraint& c) {
  if (!value_.is_object()) {
    return true;
  }
  std::set<std::string> matched;
  c.applyToProperties([&](const auto& name, const Subschema* schema) {
    auto it = value_.find(std::string(name.c_str()));
    if (it != value_.end()) {
      matched.insert(it.key());
      Descend(it.value(), PointerChild(path_, it.key()), *schema);
    }
    return true;
  });
  c.applyToPatternProperties([&](const auto& pattern, const Subschema* schema) {
    for (auto it = value_.begin(); it != value_.end(); ++it) {
      if (it.key().size() > kMaxPatternSubjectLength) {
        matched.insert(it.key());
        AddAt(PointerChild(path_, it.key()),
              "has a name that is too long: " + TooLongForPattern(pattern.c_str()));
      } else if (std::regex_search(it.key(), state_.Regex(pattern.c_str()))) {
        matched.insert(it.key());
        Descend(it.value(), PointerChild(path_, it.key()), *schema);
      }
    }
    return true;
  });
  const Subschema* additional = c.getAdditionalPropertiesSubschema();
  for (auto it = value_.begin(); it != value_.end(); ++it) {
    if (matched.count(it.key()) != 0) {
      continue;
    }
    if (additional == nullptr) {
      AddAt(PointerChild(path_, it.key()), "is not allowed");
    } else {
      Descend(it.value(), PointerChild(path_, it.key()), *additional);
    }
  }
  return true;
}

// All branches of an anyOf or oneOf failed. A branch that fails on the value's own type
// only says "not this shape"; one that gets further says what to fix. So: the deepest
// of the branches of the right shape, when there is one; else, when every branch wanted
// another type, one error naming all of them; else the keyword's own sentence.
void ErrorWalker::AddBestBranch(const std::vector<Issues>& failed, const std::string& fallback) {
  std::vector<JsonType> wanted;
  const Issues* best = nullptr;
  bool tie = false;
  for (const Issues& branch : failed) {
    auto own_type = std::find_if(branch.begin(), branch.end(), [this](const Issue& issue) {
      return issue.path == path_ && !issue.wanted.empty();
    });
    if (own_type != branch.end()) {
      for (JsonType type : own_type->wanted) {
        if (std::find(wanted.begin(), wanted.end(), type) == wanted.end()) {
          wanted.push_back(type);
        }
      }
      continue;
    }
    if (best == nullptr || Depth(branch) > Depth(*best)) {
      best = &branch;
      tie = false;
    } else if (Depth(branch) == Depth(*best)) {
      tie = true;
    }
  }
  if (best != nullptr && !tie) {
    out_.insert(out_.end(), best->begin(), best->end());
  } else if (best == nullptr && !wanted.empty()) {
    out_.push_back({path_, "", std::move(wanted)});
  } else {
    Add(fallback);
  }
}

}  // namespace

std::vector<SchemaError> CollectErrors(const Subschema& schema, const json& data) {
  WalkState state;
  Issues issues;
  try {
    ErrorWalker(state, data, "", 0, issues).Walk(schema);
  } catch (const std::exception& e) {
    return {{"", std::string("could not be checked against the schema: ") + e.what()}};
  }
  std::vector<SchemaError> errors;
  std::set<std::pair<std::string, std::string>> seen;
  for (const Issue& issue : issues) {
    SchemaError error{issue.path, Text(issue)};
    if (seen.insert({error.path, error.message}).second) {
      errors.push_back(std::move(error));
    }
    if (errors.size() == kMaxSchemaErrors) {
      break;
    }
  }
  return errors;
}

}  // namespace sw::schema_internal
