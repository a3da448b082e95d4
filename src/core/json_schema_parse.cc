#include "core/json_schema_parse.h"

#include <exception>
#include <new>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/constraint_builder.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>

namespace sw::schema_internal {
namespace {

using nlohmann::json;

// A message that lists more than this says how many values there are instead.
constexpr size_t kMaxValuesMessageLength = 200;

// The value behind a valijson adapter, as JSON. Valijson hands a custom keyword's value
// to its builder only through the abstract Adapter.
json AdapterToJson(const valijson::adapters::Adapter& value) {
  if (value.isObject()) {
    json object = json::object();
    value.applyToObject([&object](const std::string& key, const valijson::adapters::Adapter& v) {
      object[key] = AdapterToJson(v);
      return true;
    });
    return object;
  }
  if (value.isArray()) {
    json array = json::array();
    value.applyToArray([&array](const valijson::adapters::Adapter& v) {
      array.push_back(AdapterToJson(v));
      return true;
    });
    return array;
  }
  if (value.isString()) {
    return value.getString();
  }
  if (value.isBool()) {
    return value.getBool();
  }
  if (value.isInteger()) {
    return value.getInteger();
  }
  if (value.isDouble()) {
    return value.getDouble();
  }
  return nullptr;
}

class ValuesBuilder final : public valijson::ConstraintBuilder {
 public:
  explicit ValuesBuilder(ValuesConstraint::Keyword keyword) : keyword_(keyword) {}

  // Valijson takes the constraint, copies it into the subschema and deletes it.
  valijson::constraints::Constraint* make(const valijson::adapters::Adapter& value) const override {
    return std::make_unique<ValuesConstraint>(keyword_, AdapterToJson(value)).release();
  }

 private:
  ValuesConstraint::Keyword keyword_;
};

}  // namespace

bool ValuesConstraint::Allows(const json& value) const {
  if (keyword_ == Keyword::kConst) {
    return value == value_;
  }
  for (const json& allowed : value_) {
    if (value == allowed) {
      return true;
    }
  }
  return false;
}

std::string ValuesConstraint::Message() const {
  if (keyword_ == Keyword::kEnum && value_.empty()) {
    return "is not allowed: the schema's enum lists no values";
  }
  if (keyword_ == Keyword::kConst || value_.size() == 1) {
    std::string only = (keyword_ == Keyword::kConst ? value_ : value_[0]).dump();
    return only.size() <= kMaxValuesMessageLength ? "must be " + only
                                                  : "must be the one value the schema allows";
  }
  std::string list;
  for (const json& allowed : value_) {
    list += (list.empty() ? "" : ", ") + allowed.dump();
    if (list.size() > kMaxValuesMessageLength) {
      return "must be one of the " + std::to_string(value_.size()) + " values the schema allows";
    }
  }
  return "must be one of " + list;
}

bool ValuesConstraint::validate(const valijson::adapters::Adapter& target,
                                const std::vector<std::string>& context,
                                valijson::ValidationResults* results) const {
  if (Allows(AdapterToJson(target))) {
    return true;
  }
  if (results != nullptr) {
    results->pushError(context, Message());
  }
  return false;
}

valijson::constraints::Constraint* ValuesConstraint::cloneInto(void* memory) const {
  return new (memory) ValuesConstraint(*this);
}

Result<std::shared_ptr<const valijson::Schema>> ParseSchema(const json& schema) {
  auto parsed = std::make_shared<valijson::Schema>();
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
  // The parser owns its builders and deletes them.
  parser.addConstraintBuilder(
      "enum", std::make_unique<ValuesBuilder>(ValuesConstraint::Keyword::kEnum).release());
  parser.addConstraintBuilder(
      "const", std::make_unique<ValuesBuilder>(ValuesConstraint::Keyword::kConst).release());
  try {
    valijson::adapters::NlohmannJsonAdapter adapter(schema);
    parser.populateSchema(adapter, *parsed);
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("schema: ") + e.what());
  }
  return std::shared_ptr<const valijson::Schema>(std::move(parsed));
}

}  // namespace sw::schema_internal
