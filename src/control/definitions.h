// DefinitionReader reads stored workflow definitions for the API: the parsed definition
// a run was started with (to list the steps it has not reached yet), and any version of
// a workflow's definition as it was applied (the version history).
//
// Thread-safe. Borrows the store and the engine (whose parsed definitions are cached),
// which outlive it.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "control/service.h"
#include "core/definition.h"
#include "core/result.h"
#include "engine/engine.h"
#include "store/records.h"
#include "store/store.h"

namespace sw {

class DefinitionReader {
 public:
  DefinitionReader(Store& store, Engine& engine) : store_(store), engine_(engine) {}

  // The definition of the run's workflow version.
  Result<std::shared_ptr<const Definition>> ForRun(const RunRecord& run);
  // Version `version` of the workflow in the caller's workspace, as applied;
  // kNotFound when the workflow or that version does not exist.
  Result<nlohmann::json> Version(const RequestContext& ctx, const std::string& workflow_id,
                                 int version);

 private:
  Store& store_;
  Engine& engine_;
};

}  // namespace sw
