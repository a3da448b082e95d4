// The server-side commands of the CLI: `stepwell serve` (the whole server on the
// embedded SQLite store) and `stepwell workspaces create` (offline).
#pragma once

#include <CLI/CLI.hpp>

namespace sw::cli {

void AddServerCommands(CLI::App& app);

}  // namespace sw::cli
