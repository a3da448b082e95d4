// Internal to core/json_schema: valijson's parse of a schema, the constraint that keeps
// `enum` and `const` as JSON values, and the draft-7 meta-schema.
//
// Pure. A parsed schema is immutable; any number of threads may read it at once.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <valijson/constraints/concrete_constraints.hpp>
#include <vector>

#include "core/result.h"

namespace valijson {
class Schema;
}

namespace sw::schema_internal {

// `enum` or `const` of one subschema. Valijson keeps the values of its own constraint for
// these keywords opaque, so the parser adds this one beside it and the error walk checks
// this one instead, to say which values are allowed. Equality is JSON's: 1 == 1.0,
// true != 1, objects regardless of key order.
class ValuesConstraint final : public valijson::constraints::PolyConstraint {
 public:
  enum class Keyword { kEnum, kConst };

  // `value` is the enum's array, or the const's value.
  ValuesConstraint(Keyword keyword, nlohmann::json value)
      : keyword_(keyword), value_(std::move(value)) {}

  bool Allows(const nlohmann::json& value) const;
  // "must be one of \"low\", \"high\"", "must be 3".
  std::string Message() const;

  bool validate(const valijson::adapters::Adapter& target, const std::vector<std::string>& context,
                valijson::ValidationResults* results) const override;

 private:
  valijson::constraints::Constraint* cloneInto(void* memory) const override;
  size_t sizeOf() const override { return sizeof(ValuesConstraint); }

  Keyword keyword_;
  nlohmann::json value_;
};

// Valijson's parse of `schema` (draft 7), with a ValuesConstraint beside every `enum` and
// `const`. Local references only: valijson refuses to fetch any other. A schema whose
// references loop without descending into the data must not reach it (its parser
// recurses forever); core/json_schema.cc checks that first.
Result<std::shared_ptr<const valijson::Schema>> ParseSchema(const nlohmann::json& schema);

// The draft-7 meta-schema, http://json-schema.org/draft-07/schema#.
extern const char kDraft7MetaSchema[];

}  // namespace sw::schema_internal
