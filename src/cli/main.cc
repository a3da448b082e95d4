// stepwell: the server (`serve`), administration (`workspaces create`, `secrets rotate`,
// `backup`, `restore`) and the client commands that talk to a running server.
#include <CLI/CLI.hpp>

#include "cli/backup_command.h"
#include "cli/client_commands.h"
#include "cli/secrets_command.h"
#include "cli/serve.h"

int main(int argc, char** argv) {
  CLI::App app{"Stepwell: a durable workflow engine"};
  app.require_subcommand(1);
  sw::cli::AddServerCommands(app);
  sw::cli::AddSecretsCommands(app);
  sw::cli::AddBackupCommands(app);
  sw::cli::AddClientCommands(app);
  sw::cli::AddAdminCommands(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
