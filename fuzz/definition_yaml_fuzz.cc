// A definition file in YAML as `stepwell workflows apply` reads it (cli/definition_file.h),
// then, when it converts, the server's ParseDefinition of the JSON it became.
#include <string>

#include "cli/definition_file.h"
#include "core/definition.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(sw::fuzz::Text(data, size));
  sw::Result<nlohmann::json> doc = sw::cli::ParseDefinitionText(text, "fuzz.yaml");
  if (!doc.ok()) {
    return 0;
  }
  sw::fuzz::Require(doc->is_object(), "a converted definition file is a mapping");
  (void)doc->dump();
  (void)sw::ParseDefinition(*doc, "wf");
  return 0;
}
