// The client side of the `stepwell` CLI: subcommands that talk to a running server
// over its HTTP API (../shared/API.md).
//
//   stepwell runs list [--status S] [--workflow WF] [--version N] [--created-after T]
//                      [--created-before T] [--finished-after T] [--finished-before T]
//                      [--error-code C] [--actor A] [--pause-reason R] [--wait-kind K]
//                      [--parent RUN_ID] [--id-contains TEXT] [--where input.PATH=V ...]
//                      [--limit N] [--cursor C] [--watch [--interval SECONDS]]
//   stepwell runs get RUN_ID
//   stepwell runs wait RUN_ID [--timeout SECONDS] [--quiet]
//   stepwell runs pause|resume RUN_ID
//   stepwell runs cancel RUN_ID [--reason TEXT]
//   stepwell events send RUN_ID EVENT_TYPE [--payload JSON]
//   stepwell workflows apply FILE
//   stepwell workflows validate FILE        (offline: the server's own checks)
//   stepwell workflows list [--limit N] [--cursor C]
//   stepwell workflows get WF [--version N]
//   stepwell workflows disable|enable|resume WF
//   stepwell tokens create --role R --name N | list | revoke TOKEN_ID
//   stepwell schedules list | get ID | create --workflow WF --cron EXPR [--timezone Z]
//                      [--input JSON] [--overlap P] [--catch-up C] [--max-catch-up N]
//                      | delete ID | pause ID | resume ID
//   stepwell bulk pause|resume|cancel|replay [--filter JSON] [--status S] [--workflow WF]
//                      [--reason TEXT] [--preview] [--wait]
//   stepwell operations get OP_ID
//
// Every leaf subcommand takes --server URL (default: env STEPWELL_SERVER, else
// http://127.0.0.1:8420), --token T (default: env STEPWELL_TOKEN) and --json (print the
// reply body as pretty JSON instead of a table or summary).
//
// Exit codes. A command that succeeds returns normally from its CLI11 callback (exit 0).
// A command that fails has already printed `error: ...` to stderr and throws
// CLI::RuntimeError(code), which propagates out of app.parse(); CLI::App::exit() turns
// it into `code` without printing anything more. So main must parse the usual CLI11
// way, e.g.
//
//   CLI::App app{"Stepwell"};
//   sw::cli::AddClientCommands(app);
//   CLI11_PARSE(app, argc, argv);  // try { app.parse(..) } catch (const CLI::ParseError& e)
//   return 0;                      //   { return app.exit(e); }
//
// The codes:
//   kClientExitServerError (1): the server answered with a non-2xx status; stderr has
//                               `error: <message> (<code>)` from the error object.
//   kClientExitNoAnswer (2):    no answer was obtained: the server could not be reached
//                               (refused, timed out, bad --server URL), or the command
//                               stopped before sending (no token, unreadable definition
//                               file, --payload not JSON); `workflows validate`: the
//                               definition is invalid.
//   `runs wait` only: kClientExitRunFailed (3) the run failed, kClientExitRunCancelled (4)
//                               it was cancelled, kClientExitWaitTimedOut (5) --timeout
//                               passed first.
// CLI11's own usage errors keep CLI11's codes (100 and up).
//
// Not thread-safe: call AddClientCommands once, from main, before parsing. The
// registered callbacks write to std::cout and std::cerr.
#pragma once

#include <CLI/CLI.hpp>

namespace sw::cli {

inline constexpr int kClientExitServerError = 1;
inline constexpr int kClientExitNoAnswer = 2;
inline constexpr int kClientExitRunFailed = 3;
inline constexpr int kClientExitRunCancelled = 4;
inline constexpr int kClientExitWaitTimedOut = 5;

// Adds the `runs`, `events` and `workflows` subcommands (and their leaves) to `app`.
void AddClientCommands(CLI::App& app);
// Adds `workflows` (workflow_commands.cc).
void AddWorkflowsCommands(CLI::App& app);
// Adds `tokens`, `schedules`, `bulk` and `operations` (admin_commands.cc).
void AddAdminCommands(CLI::App& app);

}  // namespace sw::cli
