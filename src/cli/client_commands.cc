#include "cli/client_commands.h"

#include <algorithm>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <cstddef>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/definition_file.h"
#include "cli/http_client.h"

namespace sw::cli {
namespace {

using nlohmann::json;

constexpr int kExitOk = 0;
constexpr char kDefaultServer[] = "http://127.0.0.1:8420";
constexpr int kMaxListLimit = 500;  // The API's maximum page size.
constexpr std::size_t kMaxCellChars = 60;
constexpr std::size_t kMaxValueChars = 200;
constexpr std::size_t kMaxErrorBodyChars = 200;

// Options every leaf subcommand takes.
struct ConnectionOptions {
  std::string server = kDefaultServer;
  std::string token;
  bool json = false;
};

void AddConnectionOptions(CLI::App* command, ConnectionOptions* options) {
  command->add_option("--server", options->server, "Server URL, http://host:port")
      ->envname("STEPWELL_SERVER")
      ->capture_default_str();
  command->add_option("--token", options->token, "API token")->envname("STEPWELL_TOKEN");
  command->add_flag("--json", options->json, "Print the reply body as JSON");
}

// Turns a command's exit code into what CLI11 expects from a callback (see header).
void Finish(int code) {
  if (code != kExitOk) {
    throw CLI::RuntimeError(code);
  }
}

// Percent-encodes everything but RFC 3986 unreserved characters, for path segments and
// query values: a "/" in an id stays inside its segment, a "+" is not a space.
std::string Encode(std::string_view text) {
  return boost::urls::encode(text, boost::urls::unreserved_chars);
}

// Builds "?a=1&b=2" from the pairs whose value is non-empty.
std::string Query(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string query;
  for (const auto& [name, value] : params) {
    if (value.empty()) {
      continue;
    }
    query += query.empty() ? '?' : '&';
    query += name + "=" + Encode(value);
  }
  return query;
}

std::string Dump(const json& value, int indent = -1) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string Truncate(std::string text, std::size_t max_chars) {
  if (text.size() > max_chars) {
    text.resize(max_chars - 3);
    text += "...";
  }
  return text;
}

// One line of text for a table cell or an overview value: control characters become
// spaces.
std::string OneLine(std::string text) {
  std::replace_if(
      text.begin(), text.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }, ' ');
  return text;
}

// A JSON value as display text: strings bare, null and missing as "-".
std::string Text(const json& value) {
  if (value.is_null()) {
    return "-";
  }
  if (value.is_string()) {
    return OneLine(value.get<std::string>());
  }
  return OneLine(Dump(value));
}

const json& Field(const json& object, const char* key) {
  static const json kNull = nullptr;
  if (!object.is_object()) {
    return kNull;
  }
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

std::string FieldText(const json& object, const char* key) { return Text(Field(object, key)); }

bool HasField(const json& object, const char* key) { return !Field(object, key).is_null(); }

using Row = std::vector<std::string>;

// Prints rows under a header, columns aligned, two spaces apart.
void PrintTable(const Row& header, const std::vector<Row>& rows) {
  std::vector<std::size_t> widths(header.size(), 0);
  auto measure = [&widths](const Row& row) {
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  };
  measure(header);
  std::for_each(rows.begin(), rows.end(), measure);
  auto print = [&widths](const Row& row) {
    std::string line;
    for (std::size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line += std::string(widths[i] - row[i].size() + 2, ' ');
      }
    }
    std::cout << line << "\n";
  };
  print(header);
  std::for_each(rows.begin(), rows.end(), print);
}

// Prints "key:  value" lines with the values aligned.
void PrintOverview(const std::vector<std::pair<std::string, std::string>>& lines) {
  std::size_t width = 0;
  for (const auto& [key, value] : lines) {
    width = std::max(width, key.size());
  }
  for (const auto& [key, value] : lines) {
    std::cout << key << ":" << std::string(width - key.size() + 2, ' ') << value << "\n";
  }
}

void PrintNextCursor(const json& page) {
  if (Field(page, "next_cursor").is_string()) {
    std::cout << "\nMore: --cursor " << Field(page, "next_cursor").get<std::string>() << "\n";
  }
}

// Prints a non-2xx reply as `error: <message> (<code>)`, then any extra fields of the
// error object (step_id, field, current_status, ...) one per line.
void PrintErrorReply(const HttpReply& reply) {
  std::string fallback_code = "http_" + std::to_string(reply.status);
  json parsed = json::parse(reply.body, nullptr, false);
  const json& error = Field(parsed, "error");
  if (!error.is_object()) {
    std::string message = "the server answered HTTP " + std::to_string(reply.status);
    if (!reply.body.empty()) {
      message += ": " + Truncate(OneLine(reply.body), kMaxErrorBodyChars);
    }
    std::cerr << "error: " << message << " (" << fallback_code << ")\n";
    return;
  }
  std::string message = HasField(error, "message")
                            ? FieldText(error, "message")
                            : "the server answered HTTP " + std::to_string(reply.status);
  std::string code = HasField(error, "code") ? FieldText(error, "code") : fallback_code;
  std::cerr << "error: " << message << " (" << code << ")\n";
  for (const auto& [key, value] : error.items()) {
    if (key != "message" && key != "code") {
      std::cerr << "  " << key << ": " << Truncate(Text(value), kMaxValueChars) << "\n";
    }
  }
}

// Shows a 2xx reply without --json. `body` is null when the reply was not JSON.
using Printer = std::function<void(const HttpReply& reply, const json& body)>;

// Sends one request and shows the outcome; returns the exit code.
int Exchange(const ConnectionOptions& options, const std::string& method, const std::string& target,
             const std::string& body, const Printer& print) {
  if (options.token.empty()) {
    std::cerr << "error: no API token: pass --token or set STEPWELL_TOKEN (the admin token is "
                 "in <data-dir>/admin-token)\n";
    return kClientExitNoAnswer;
  }
  Result<HttpReply> reply = HttpCall(options.server, method, target, options.token, body);
  if (!reply.ok()) {
    std::cerr << "error: " << reply.status().message() << "\n";
    if (reply.status().code() == StatusCode::kUnavailable) {
      std::cerr << "(is `stepwell serve` running at " << options.server
                << "? set --server or STEPWELL_SERVER)\n";
    }
    return kClientExitNoAnswer;
  }
  if (reply->status < 200 || reply->status > 299) {
    PrintErrorReply(*reply);
    return kClientExitServerError;
  }
  json parsed = json::parse(reply->body, nullptr, false);
  if (parsed.is_discarded()) {
    parsed = nullptr;
  }
  if (!options.json) {
    print(*reply, parsed);
  } else if (!parsed.is_null()) {
    // ordered_json keeps the server's key order, which json (sorted keys) would not.
    nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(reply->body, nullptr, false);
    std::cout << ordered.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
              << "\n";
  } else if (!reply->body.empty()) {
    std::cout << reply->body << "\n";
  }
  return kExitOk;
}

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

// "paused_safety (throughput_cap)" for a workflow held for safety, else its status.
std::string WorkflowStatusText(const json& workflow) {
  const json& safety = Field(workflow, "safety");
  const std::string status = FieldText(workflow, "status");
  return safety.is_object() ? status + " (" + FieldText(safety, "reason") + ")" : status;
}

void PrintWorkflowList(const HttpReply&, const json& page) {
  const json& items = Field(page, "items");
  if (!items.is_array() || items.empty()) {
    std::cout << "No workflows.\n";
    return;
  }
  std::vector<Row> rows;
  for (const json& workflow : items) {
    rows.push_back({FieldText(workflow, "id"), FieldText(workflow, "version"),
                    WorkflowStatusText(workflow), FieldText(workflow, "kind")});
  }
  PrintTable({"ID", "VERSION", "STATUS", "KIND"}, rows);
  PrintNextCursor(page);
  // A safety hold's message is a sentence: under the table, one line each.
  for (const json& workflow : items) {
    const json& safety = Field(workflow, "safety");
    if (safety.is_object()) {
      std::cout << FieldText(workflow, "id") << ": " << FieldText(safety, "message") << "\n";
    }
  }
}

void PrintWorkflowResumed(const HttpReply&, const json& workflow) {
  std::cout << "Workflow " << FieldText(workflow, "id") << " is " << WorkflowStatusText(workflow)
            << ".\n";
}

void PrintWorkflowApplied(const HttpReply& reply, const json& workflow) {
  std::cout << "Workflow " << FieldText(workflow, "id")
            << (reply.status == 201 ? " created" : " applied") << ": version "
            << FieldText(workflow, "version") << ", status " << FieldText(workflow, "status")
            << ".\n";
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

  struct ListOptions {
    ConnectionOptions connection;
    std::string status;
    std::string workflow;
    int limit = 0;
    std::string cursor;
  };
  auto list = std::make_shared<ListOptions>();
  CLI::App* list_command = runs->add_subcommand("list", "List runs, newest first");
  AddConnectionOptions(list_command, &list->connection);
  list_command->add_option("--status", list->status,
                           "Only runs with this status (comma-separated for several)");
  list_command->add_option("--workflow", list->workflow, "Only runs of this workflow");
  list_command->add_option("--limit", list->limit, "Page size (default 50)")
      ->check(CLI::Range(1, kMaxListLimit));
  list_command->add_option("--cursor", list->cursor, "Continue from this cursor");
  list_command->callback([list] {
    std::string query = Query({{"status", list->status},
                               {"workflow_id", list->workflow},
                               {"limit", list->limit > 0 ? std::to_string(list->limit) : ""},
                               {"cursor", list->cursor}});
    Finish(Exchange(list->connection, "GET", "/api/v1/runs" + query, "", PrintRunList));
  });

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

void AddWorkflowsCommands(CLI::App& app) {
  CLI::App* workflows = app.add_subcommand("workflows", "Apply, list and resume workflows");
  workflows->require_subcommand(1);

  struct ApplyOptions {
    ConnectionOptions connection;
    std::string file;
  };
  auto apply = std::make_shared<ApplyOptions>();
  CLI::App* apply_command =
      workflows->add_subcommand("apply", "Create a workflow or a new version from a file");
  AddConnectionOptions(apply_command, &apply->connection);
  apply_command->add_option("FILE", apply->file, "Definition file (.yaml, .yml or .json)")
      ->required();
  apply_command->callback([apply] {
    Result<json> definition = LoadDefinitionFile(apply->file);
    if (!definition.ok()) {
      std::cerr << "error: " << definition.status().message() << "\n";
      Finish(kClientExitNoAnswer);
    }
    const json& id = Field(*definition, "id");
    if (!id.is_string() || id.get<std::string>().empty()) {
      std::cerr << "error: " << apply->file
                << " has no `id`: the definition's id names the workflow\n";
      Finish(kClientExitNoAnswer);
    }
    std::string target = "/api/v1/workflows/" + Encode(id.get<std::string>());
    Finish(Exchange(apply->connection, "PUT", target, Dump(*definition), PrintWorkflowApplied));
  });

  struct ListOptions {
    ConnectionOptions connection;
    int limit = 0;
    std::string cursor;
  };
  auto list = std::make_shared<ListOptions>();
  CLI::App* list_command = workflows->add_subcommand("list", "List workflows");
  AddConnectionOptions(list_command, &list->connection);
  list_command->add_option("--limit", list->limit, "Page size (default 50)")
      ->check(CLI::Range(1, kMaxListLimit));
  list_command->add_option("--cursor", list->cursor, "Continue from this cursor");
  list_command->callback([list] {
    std::string query = Query(
        {{"limit", list->limit > 0 ? std::to_string(list->limit) : ""}, {"cursor", list->cursor}});
    Finish(Exchange(list->connection, "GET", "/api/v1/workflows" + query, "", PrintWorkflowList));
  });

  struct ResumeOptions {
    ConnectionOptions connection;
    std::string workflow_id;
  };
  auto resume = std::make_shared<ResumeOptions>();
  CLI::App* resume_command = workflows->add_subcommand(
      "resume", "Resume a workflow paused for safety by its throughput breaker");
  AddConnectionOptions(resume_command, &resume->connection);
  resume_command->add_option("WF", resume->workflow_id, "Workflow id")->required();
  resume_command->callback([resume] {
    Finish(Exchange(resume->connection, "POST",
                    "/api/v1/workflows/" + Encode(resume->workflow_id) + "/resume", "{}",
                    PrintWorkflowResumed));
  });
}

}  // namespace

void AddClientCommands(CLI::App& app) {
  AddRunsCommands(app);
  AddEventsCommands(app);
  AddWorkflowsCommands(app);
}

}  // namespace sw::cli
