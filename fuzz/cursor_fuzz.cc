// Walks a definition with the Cursor as the engine does: `{"definition", "input",
// "outputs"}`, the leaves completing with the outputs in turn (null past the end).
// A walk is bounded here, not by the definition, so a long loop only ends the input.
#include <memory>

#include "core/cursor.h"
#include "fuzz/fuzz_input.h"

namespace {

constexpr int kMaxActions = 512;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::optional<nlohmann::json> doc = sw::fuzz::Json(data, size);
  if (!doc || !doc->is_object() || !doc->contains("definition")) {
    return 0;
  }
  auto definition = sw::ParseDefinition((*doc)["definition"], "wf");
  if (!definition.ok()) {
    return 0;
  }
  nlohmann::json outputs = doc->value("outputs", nlohmann::json::array());
  if (!outputs.is_array()) {
    outputs = nlohmann::json::array();
  }
  sw::Cursor cursor(*definition, doc->value("input", nlohmann::json::object()),
                    {{"id", "run_01"}, {"workflow_id", "wf"}});
  for (int i = 0; i < kMaxActions; ++i) {
    sw::CursorAction action = cursor.Next();
    if (action.kind != sw::CursorAction::Kind::kExecute) {
      break;
    }
    sw::fuzz::Require(action.step != nullptr && !action.step->IsControl(),
                      "the cursor executes leaves only");
    const size_t n = static_cast<size_t>(i);
    cursor.Complete(n < outputs.size() ? outputs[n] : nlohmann::json());
  }
  return 0;
}
