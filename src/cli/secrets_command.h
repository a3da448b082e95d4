// `stepwell secrets rotate --data-dir DIR` (offline): a new secret key, and every
// secret the store keeps sealed again under it (docs/connections.md, "Rotating the
// key").
#pragma once

#include <CLI/CLI.hpp>

namespace sw::cli {

void AddSecretsCommands(CLI::App& app);

}  // namespace sw::cli
