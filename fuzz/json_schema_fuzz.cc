// JSON Schema (core/json_schema.h): `[schema, data]` compiles the schema and validates
// the data; any other document is compiled as a schema and validated against itself.
#include "core/json_schema.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<nlohmann::json> doc = sw::fuzz::Json(data, size);
  if (!doc) {
    return 0;
  }
  const bool pair = doc->is_array() && doc->size() == 2;
  const nlohmann::json& schema = pair ? (*doc)[0] : *doc;
  const nlohmann::json& instance = pair ? (*doc)[1] : *doc;
  sw::Result<sw::CompiledSchema> compiled = sw::CompiledSchema::Compile(schema);
  sw::fuzz::Require(compiled.ok() == sw::CheckSchema(schema).ok(), "CheckSchema and Compile agree");
  if (compiled.ok()) {
    (void)compiled->Validate(instance);
  }
  return 0;
}
