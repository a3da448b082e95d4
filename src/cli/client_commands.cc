#include "cli/client_commands.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "cli/client_kit.h"
#include "cli/http_client.h"

namespace sw::cli {
namespace {

using nlohmann::json;

std::string RunPath(const std::string& run_id) { return "/api/v1/runs/" + Encode(run_id); }

// "kind (key value, key value)" for the run's pause/wait/cancel/error objects.
std::string Describe(const json& object, const char* head_key,
                     const std::vector<std::pair<const char*, const char*>>& details) {
  std::string text = FieldText(object, head_key);
  std::string extra;
  for (const auto& [key, label] : details) {
    if (HasField(object, key)) {
      extra += (extra.empty() ? "" : ", ") + std::string(label) + " " + FieldText(object, key);
    }
  }
  return extra.empty() ? text : text + " (" + extra + ")";
}

void PrintRunList(const HttpReply&, const json& page) {
  const json& items = Field(page, "items");
  if (!items.is_array() || items.empty()) {
    std::cout << "No runs.\n";
    return;
  }
  std::vector<Row> rows;
  for (const json& run : items) {
    rows.push_back({FieldText(run, "id"), FieldText(run, "workflow_id"), FieldText(run, "status"),
                    FieldText(run, "created_at")});
  }
  PrintTable({"ID", "WORKFLOW", "STATUS", "CREATED"}, rows);
  PrintNextCursor(page);
}

std::string StepError(const json& step) {
  const json& error = Field(step, "error");
  std::string text = error.is_object() ? Describe(error, "message", {{"code", "code"}})
                     : error.is_null() ? ""
                                       : Text(error);
  if (Field(step, "result_discarded") == true) {
    text += text.empty() ? "(result discarded)" : " (result discarded)";
  }
  return text.empty() ? "-" : Truncate(text, kMaxCellChars);
}

void PrintSteps(const json& steps) {
  if (!steps.is_array() || steps.empty()) {
    std::cout << "No steps.\n";
    return;
  }
  std::vector<Row> rows;
  for (const json& step : steps) {
    // `path` is unique (`poll[2].check`) where `id` repeats across loop iterations.
    std::string id = HasField(step, "path") ? FieldText(step, "path") : FieldText(step, "id");
    // A rerun's copied step did not execute in this run.
    std::string status = FieldText(step, "status");
    if (Field(step, "copied") == true) {
      status += " (copied)";
    }
    rows.push_back(
        {id, FieldText(step, "type"), status, FieldText(step, "attempt"), StepError(step)});
  }
  PrintTable({"ID", "TYPE", "STATUS", "ATTEMPT", "ERROR"}, rows);
}

void PrintRun(const HttpReply&, const json& run) {
  std::vector<std::pair<std::string, std::string>> lines = {
      {"ID", FieldText(run, "id")},
      {"Workflow",
       FieldText(run, "workflow_id") + " (version " + FieldText(run, "workflow_version") + ")"},
      {"Status", FieldText(run, "status")},
      {"Version", FieldText(run, "version")},
  };
  const json& actions = Field(run, "allowed_actions");
  if (actions.is_array()) {
    std::string joined;
    for (const json& action : actions) {
      joined += (joined.empty() ? "" : ", ") + Text(action);
    }
    lines.emplace_back("Actions", joined.empty() ? "none" : joined);
  }
  if (HasField(run, "pause")) {
    lines.emplace_back("Paused",
                       Describe(Field(run, "pause"), "reason",
                                {{"connection_id", "connection"}, {"by", "by"}, {"at", "at"}}));
  }
  if (HasField(run, "wait")) {
    lines.emplace_back("Waiting",
                       Describe(Field(run, "wait"), "kind",
                                {{"event_type", "type"}, {"step_id", "step"}, {"until", "until"}}));
  }
  if (HasField(run, "cancel")) {
    lines.emplace_back("Cancelled",
                       Describe(Field(run, "cancel"), "reason", {{"by", "by"}, {"at", "at"}}));
  }
  if (HasField(run, "error")) {
    lines.emplace_back(
        "Error", Describe(Field(run, "error"), "message", {{"code", "code"}, {"step_id", "step"}}));
  }
  if (HasField(run, "trigger")) {
    lines.emplace_back("Trigger", Describe(Field(run, "trigger"), "kind", {{"actor", "by"}}));
  }
  if (HasField(run, "replay_of")) {
    lines.emplace_back("Replay of", FieldText(run, "replay_of"));
  }
  if (HasField(run, "replay_from_step")) {
    lines.emplace_back("Replay from", FieldText(run, "replay_from_step"));
  }
  for (const auto& [key, label] :
       std::vector<std::pair<const char*, const char*>>{{"created_at", "Created"},
                                                        {"started_at", "Started"},
                                                        {"updated_at", "Updated"},
                                                        {"finished_at", "Finished"}}) {
    lines.emplace_back(label, FieldText(run, key));
  }
  if (run.is_object() && run.contains("input")) {
    lines.emplace_back("Input", Truncate(Text(Field(run, "input")), kMaxValueChars));
  }
  if (run.is_object() && run.contains("output")) {
    lines.emplace_back("Output", Truncate(Text(Field(run, "output")), kMaxValueChars));
  }
  PrintOverview(lines);
  std::cout << "\n";
  PrintSteps(Field(run, "steps"));
}

void PrintRunTransition(const HttpReply&, const json& run) {
  std::cout << "Run " << FieldText(run, "id") << " is " << FieldText(run, "status") << " (version "
            << FieldText(run, "version") << ").\n";
}

// "run_1 running: 3/10 steps done, at fetch (http)": what `runs wait` shows.
std::string ProgressLine(const json& run) {
  const json& steps = Field(run, "steps");
  int done = 0;
  int total = 0;
  std::string current;
  if (steps.is_array()) {
    for (const json& step : steps) {
      ++total;
      const std::string status = FieldText(step, "status");
      done += status == "completed" ? 1 : 0;
      if (current.empty() && (status == "running" || status == "waiting")) {
        std::string id = HasField(step, "path") ? FieldText(step, "path") : FieldText(step, "id");
        current = id + " (" + FieldText(step, "type") + ")";
      }
    }
  }
  std::string line = FieldText(run, "id") + " " + FieldText(run, "status");
  if (HasField(run, "wait")) {
    line += " (" + FieldText(Field(run, "wait"), "kind") + ")";
  }
  if (HasField(run, "pause")) {
    line += " (" + FieldText(Field(run, "pause"), "reason") + ")";
  }
  line += ": " + std::to_string(done) + "/" + std::to_string(total) + " steps done";
  return current.empty() ? line : line + ", at " + current;
}

// `runs wait RUN_ID`: a long-poll at a time until the run ends, with a progress line on
// stderr (rewritten in place on a terminal); then the run as `runs get` shows it, and an
// exit code that tells how it ended (client_commands.h).
void AddRunsWaitCommand(CLI::App* runs) {
  struct WaitOptions {
    ConnectionOptions connection;
    std::string run_id;
    double timeout_s = 0;
    bool quiet = false;
  };
  auto wait = std::make_shared<WaitOptions>();
  CLI::App* command =
      runs->add_subcommand("wait",
                           "Wait for a run to end, showing its progress; the exit code "
                           "is 0 completed, 3 failed, 4 cancelled, 5 timed out");
  AddConnectionOptions(command, &wait->connection);
  command->add_option("RUN_ID", wait->run_id, "Run id")->required();
  command->add_option("--timeout", wait->timeout_s, "Give up after this many seconds (0: never)")
      ->check(CLI::NonNegativeNumber);
  command->add_flag("--quiet", wait->quiet, "No progress line");
  command->callback([wait] {
    const bool tty = isatty(STDERR_FILENO) != 0;
    const auto started = std::chrono::steady_clock::now();
    std::string shown;
    while (true) {
      int code = kExitOk;
      std::optional<HttpReply> reply =
          Call(wait->connection, "GET", RunPath(wait->run_id) + "?wait_ms=500", "", code);
      if (!reply) {
        Finish(code);
      }
      json run = json::parse(reply->body, nullptr, false);
      std::string line = ProgressLine(run);
      if (!wait->quiet && line != shown) {
        std::cerr << (tty ? "\r\033[K" + line : line + "\n") << std::flush;
        shown = line;
      }
      const std::string status = FieldText(run, "status");
      const bool ended = status == "completed" || status == "failed" || status == "cancelled";
      const double waited =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      if (ended || (wait->timeout_s > 0 && waited >= wait->timeout_s)) {
        if (tty && !wait->quiet) {
          std::cerr << "\n";
        }
        if (wait->connection.json) {
          std::cout << nlohmann::ordered_json::parse(reply->body, nullptr, false).dump(2) << "\n";
        } else {
          PrintRun(*reply, run);
        }
        if (!ended) {
          std::cerr << "error: run " << wait->run_id << " is still " << status << " after "
                    << wait->timeout_s << " s\n";
          Finish(kClientExitWaitTimedOut);
        }
        Finish(status == "completed" ? kExitOk
               : status == "failed"  ? kClientExitRunFailed
                                     : kClientExitRunCancelled);
        return;
      }
    }
  });
}

// `runs list`: the list route's filters as options; --watch lists again every interval
// and prints the page when it changed.
void AddRunsListCommand(CLI::App* runs) {
  struct ListOptions {
    ConnectionOptions connection;
    std::vector<std::pair<std::string, std::string>> filters;  // query name, value
    std::vector<std::string> where;                            // input.a=1, output.b=x
    int limit = 0;
    std::string cursor;
    bool watch = false;
    double interval_s = 2.0;
  };
  auto list = std::make_shared<ListOptions>();
  CLI::App* command = runs->add_subcommand("list", "List runs, newest first");
  AddConnectionOptions(command, &list->connection);
  // Option name, query parameter, help. The values go to `filters` in this order.
  static const std::vector<std::array<const char*, 3>> kFilters = {
      {"--status", "status", "Only runs with this status (comma-separated for several)"},
      {"--workflow", "workflow_id", "Only runs of this workflow"},
      {"--version", "workflow_version", "Only runs of this workflow version"},
      {"--created-after", "created_after", "Created at or after (RFC 3339)"},
      {"--created-before", "created_before", "Created before (RFC 3339)"},
      {"--finished-after", "finished_after", "Finished at or after (RFC 3339)"},
      {"--finished-before", "finished_before", "Finished before (RFC 3339)"},
      {"--error-code", "error_code", "Only runs that failed with this error code"},
      {"--actor", "actor", "Only runs started by this actor (token:NAME, schedule:ID)"},
      {"--pause-reason", "pause_reason", "Only paused runs with this reason"},
      {"--wait-kind", "wait_kind", "Only waiting runs with this wait kind"},
      {"--parent", "parent_run_id", "Only child runs of this run"},
      {"--id-contains", "q", "Only runs whose id contains this text"},
      {"--run-ids", "run_ids", "Only these runs (run ids, comma-separated, at most 500)"},
  };
  list->filters.resize(kFilters.size());
  for (size_t i = 0; i < kFilters.size(); ++i) {
    list->filters[i].first = kFilters[i][1];
    command->add_option(kFilters[i][0], list->filters[i].second, kFilters[i][2]);
  }
  command->add_option("--where", list->where,
                      "input.PATH=VALUE or output.PATH=VALUE (repeatable; VALUE read as JSON "
                      "when it parses)");
  command->add_option("--limit", list->limit, "Page size (default 50)")
      ->check(CLI::Range(1, kMaxListLimit));
  command->add_option("--cursor", list->cursor, "Continue from this cursor");
  command->add_flag("--watch", list->watch, "List again every --interval until interrupted");
  command->add_option("--interval", list->interval_s, "Seconds between lists with --watch")
      ->check(CLI::Range(0.2, 3600.0))
      ->capture_default_str();
  command->callback([list] {
    std::vector<std::pair<std::string, std::string>> params = list->filters;
    for (const std::string& where : list->where) {
      size_t eq = where.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << "error: --where wants PATH=VALUE, e.g. input.customer_id=42: " << where
                  << "\n";
        Finish(kClientExitNoAnswer);
      }
      params.emplace_back(where.substr(0, eq), where.substr(eq + 1));
    }
    params.emplace_back("limit", list->limit > 0 ? std::to_string(list->limit) : "");
    params.emplace_back("cursor", list->cursor);
    const std::string target = "/api/v1/runs" + Query(params);
    if (!list->watch) {
      Finish(Exchange(list->connection, "GET", target, "", PrintRunList));
      return;
    }
    Finish(Watch(list->connection, target, list->interval_s, PrintRunList));
  });
}

// "Would keep: a, b" / "Would run: c, d" for a replay's preview.
void PrintReplayPreview(const HttpReply&, const json& preview) {
  for (const auto& [key, label] : std::vector<std::pair<const char*, const char*>>{
           {"kept", "Would keep (copied, not run again)"}, {"will_run", "Would run"}}) {
    std::string joined;
    const json& paths = Field(preview, key);
    for (const json& path : paths.is_array() ? paths : json::array()) {
      joined += (joined.empty() ? "" : ", ") + Text(path);
    }
    std::cout << label << ": " << (joined.empty() ? "none" : joined) << "\n";
  }
}

void PrintReplayStarted(const HttpReply&, const json& run) {
  std::cout << "Run " << FieldText(run, "id") << " started: a replay of "
            << FieldText(run, "replay_of");
  if (HasField(run, "replay_from_step")) {
    std::cout << " from step " << FieldText(run, "replay_from_step");
  }
  std::cout << " (workflow version " << FieldText(run, "workflow_version") << ").\n";
}

// `runs replay RUN_ID [--from-step S] [--input JSON] [--version same|latest|N]
// [--preview]`: POST /api/v1/runs/{id}/replay.
void AddReplayCommand(CLI::App& runs) {
  struct ReplayOptions {
    ConnectionOptions connection;
    std::string run_id;
    std::string from_step;
    std::string input;
    std::string version;
    bool preview = false;
  };
  auto replay = std::make_shared<ReplayOptions>();
  CLI::App* command = runs.add_subcommand(
      "replay", "Run a finished run again, from the start or from one of its steps");
  AddConnectionOptions(command, &replay->connection);
  command->add_option("RUN_ID", replay->run_id, "Run id")->required();
  command->add_option("--from-step", replay->from_step,
                      "Step id or path to run from; the steps before it keep their outputs");
  command->add_option("--input", replay->input, "New input as a JSON object (default: the run's)");
  command->add_option("--version", replay->version,
                      "Workflow version: same (default), latest, or a number");
  command->add_flag("--preview", replay->preview,
                    "Show what would be kept and run; change nothing");
  command->callback([replay] {
    json body = json::object();
    if (!replay->from_step.empty()) {
      body["from_step"] = replay->from_step;
    }
    if (!replay->input.empty()) {
      json input = json::parse(replay->input, nullptr, false);
      if (input.is_discarded()) {
        std::cerr << "error: --input is not valid JSON: " << replay->input << "\n";
        Finish(kClientExitNoAnswer);
      }
      body["input"] = input;
    }
    if (!replay->version.empty()) {
      // A number is sent as one ("3"), a word as a string ("same", "latest").
      const std::string& v = replay->version;
      const bool number =
          v.size() <= 9 && !v.empty() &&
          std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
      body["version"] = number ? json(std::stoll(v)) : json(v);
    }
    if (replay->preview) {
      body["preview"] = true;
    }
    Finish(Exchange(replay->connection, "POST", RunPath(replay->run_id) + "/replay", Dump(body),
                    replay->preview ? PrintReplayPreview : PrintReplayStarted));
  });
}

// Each leaf command keeps its options in a struct behind a shared_ptr: the copy in the
// command's callback (stored in the CLI::App) keeps it alive, and CLI11's option
// bindings point into it.
void AddRunsCommands(CLI::App& app) {
  CLI::App* runs = app.add_subcommand("runs", "List, inspect and control runs");
  runs->require_subcommand(1);

  AddRunsListCommand(runs);
  AddRunsWaitCommand(runs);

  struct RunOptions {
    ConnectionOptions connection;
    std::string run_id;
    std::string reason;
  };
  auto get = std::make_shared<RunOptions>();
  CLI::App* get_command = runs->add_subcommand("get", "Show a run and its steps");
  AddConnectionOptions(get_command, &get->connection);
  get_command->add_option("RUN_ID", get->run_id, "Run id")->required();
  get_command->callback(
      [get] { Finish(Exchange(get->connection, "GET", RunPath(get->run_id), "", PrintRun)); });

  for (const char* action : {"pause", "resume", "cancel"}) {
    auto control = std::make_shared<RunOptions>();
    std::string description = std::string(action) == "pause"    ? "Pause a run"
                              : std::string(action) == "resume" ? "Resume a paused run"
                                                                : "Cancel a run";
    CLI::App* command = runs->add_subcommand(action, description);
    AddConnectionOptions(command, &control->connection);
    command->add_option("RUN_ID", control->run_id, "Run id")->required();
    if (std::string(action) == "cancel") {
      command->add_option("--reason", control->reason, "Why (recorded in the run and audit log)");
    }
    command->callback([control, action = std::string(action)] {
      json body = json::object();
      if (!control->reason.empty()) {
        body["reason"] = control->reason;
      }
      Finish(Exchange(control->connection, "POST", RunPath(control->run_id) + "/" + action,
                      Dump(body), PrintRunTransition));
    });
  }

  AddReplayCommand(*runs);
}

void AddEventsCommands(CLI::App& app) {
  CLI::App* events = app.add_subcommand("events", "Send events to runs");
  events->require_subcommand(1);

  struct SendOptions {
    ConnectionOptions connection;
    std::string run_id;
    std::string event_type;
    std::string payload = "{}";
  };
  auto send = std::make_shared<SendOptions>();
  CLI::App* command = events->add_subcommand("send", "Send an event to a run");
  AddConnectionOptions(command, &send->connection);
  command->add_option("RUN_ID", send->run_id, "Run id")->required();
  command->add_option("EVENT_TYPE", send->event_type, "Event type, e.g. user-approval")->required();
  command->add_option("--payload", send->payload, "Event payload as JSON")->capture_default_str();
  command->callback([send] {
    json payload = json::parse(send->payload, nullptr, false);
    if (payload.is_discarded()) {
      std::cerr << "error: --payload is not valid JSON: " << send->payload << "\n";
      Finish(kClientExitNoAnswer);
    }
    json body = {{"event_type", send->event_type}, {"payload", payload}};
    auto print = [send](const HttpReply&, const json& reply) {
      if (Field(reply, "delivered") == true) {
        std::cout << "Event " << send->event_type << " delivered to run " << send->run_id << ".\n";
      } else {
        std::cout << "Event " << send->event_type << " buffered for run " << send->run_id
                  << " (it is not waiting for it yet).\n";
      }
    };
    Finish(
        Exchange(send->connection, "POST", RunPath(send->run_id) + "/events", Dump(body), print));
  });
}

}  // namespace

void AddClientCommands(CLI::App& app) {
  AddRunsCommands(app);
  AddEventsCommands(app);
  AddWorkflowsCommands(app);  // workflow_commands.cc
}

}  // namespace sw::cli
