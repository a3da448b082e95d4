// `stepwell tokens …`, `stepwell schedules …` and `stepwell bulk …` (client_commands.h
// lists them): the routes of API.md "Server, workspaces and tokens", "Schedules" and
// "Bulk controls".
#include <array>
#include <chrono>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "cli/client_commands.h"
#include "cli/client_kit.h"

namespace sw::cli {
namespace {

using nlohmann::json;

// Options of a command that names one object by id.
struct IdOptions {
  ConnectionOptions connection;
  std::string id;
};

// Adds `parent NAME ID` that sends METHOD to `prefix + ID + suffix` with `body`.
void AddIdCommand(CLI::App* parent, const char* name, const char* help, const char* method,
                  std::string prefix, std::string suffix, const Printer& print) {
  auto options = std::make_shared<IdOptions>();
  CLI::App* command = parent->add_subcommand(name, help);
  AddConnectionOptions(command, &options->connection);
  command->add_option("ID", options->id, "Id")->required();
  command->callback([options, method = std::string(method), prefix = std::move(prefix),
                     suffix = std::move(suffix), print] {
    std::string body = method == "POST" ? "{}" : "";
    Finish(
        Exchange(options->connection, method, prefix + Encode(options->id) + suffix, body, print));
  });
}

void PrintTokens(const HttpReply&, const json& page) {
  const json& items = Field(page, "items");
  if (!items.is_array() || items.empty()) {
    std::cout << "No tokens.\n";
    return;
  }
  std::vector<Row> rows;
  for (const json& t : items) {
    rows.push_back({FieldText(t, "id"), FieldText(t, "name"), FieldText(t, "role"),
                    FieldText(t, "created_at"), FieldText(t, "revoked_at")});
  }
  PrintTable({"ID", "NAME", "ROLE", "CREATED", "REVOKED"}, rows);
}

void AddTokensCommands(CLI::App& app) {
  CLI::App* tokens = app.add_subcommand("tokens", "Create, list and revoke API tokens (admin)");
  tokens->require_subcommand(1);

  struct CreateOptions {
    ConnectionOptions connection;
    std::string role;
    std::string name;
  };
  auto create = std::make_shared<CreateOptions>();
  CLI::App* command = tokens->add_subcommand("create", "Create a token; its secret is shown once");
  AddConnectionOptions(command, &create->connection);
  command->add_option("--role", create->role, "viewer, operator, admin or agent")->required();
  command->add_option("--name", create->name, "What the token is for (shown in the audit log)")
      ->required();
  command->callback([create] {
    json body = {{"role", create->role}, {"name", create->name}};
    Finish(Exchange(create->connection, "POST", "/api/v1/tokens", Dump(body),
                    [](const HttpReply&, const json& t) {
                      std::cout << "Token " << FieldText(t, "id") << " (" << FieldText(t, "role")
                                << "), shown once:\n  " << FieldText(t, "token") << "\n";
                    }));
  });

  auto list = std::make_shared<ConnectionOptions>();
  CLI::App* list_command = tokens->add_subcommand("list", "List tokens (never their secrets)");
  AddConnectionOptions(list_command, list.get());
  list_command->callback(
      [list] { Finish(Exchange(*list, "GET", "/api/v1/tokens", "", PrintTokens)); });

  AddIdCommand(tokens, "revoke", "Revoke a token: it is refused from now on", "DELETE",
               "/api/v1/tokens/", "",
               [](const HttpReply&, const json&) { std::cout << "Token revoked.\n"; });
}

std::string NextFire(const json& schedule) {
  const json& next = Field(schedule, "next_fire_times");
  return next.is_array() && !next.empty() ? Text(next.front()) : "-";
}

void PrintSchedules(const HttpReply&, const json& page) {
  const json& items = Field(page, "items");
  if (!items.is_array() || items.empty()) {
    std::cout << "No schedules.\n";
    return;
  }
  std::vector<Row> rows;
  for (const json& s : items) {
    rows.push_back({FieldText(s, "id"), FieldText(s, "workflow_id"), FieldText(s, "cron"),
                    FieldText(s, "timezone"), Field(s, "paused") == true ? "paused" : "active",
                    NextFire(s)});
  }
  PrintTable({"ID", "WORKFLOW", "CRON", "ZONE", "STATE", "NEXT FIRE"}, rows);
  PrintNextCursor(page);
}

void PrintSchedule(const HttpReply&, const json& s) {
  std::string next;
  for (const json& at : Field(s, "next_fire_times")) {
    next += (next.empty() ? "" : ", ") + Text(at);
  }
  PrintOverview(
      {{"ID", FieldText(s, "id")},
       {"Workflow", FieldText(s, "workflow_id")},
       {"Cron", FieldText(s, "cron") + " (" + FieldText(s, "timezone") + ")"},
       {"State", Field(s, "paused") == true ? "paused" : "active"},
       {"Overlap", FieldText(s, "overlap")},
       {"Catch-up", FieldText(s, "catch_up") + " (at most " + FieldText(s, "max_catch_up") + ")"},
       {"Input", Truncate(Text(Field(s, "input")), kMaxValueChars)},
       {"Next fires", next.empty() ? "-" : next},
       {"Last fired", FieldText(s, "last_fired_at")},
       {"Last run", FieldText(s, "last_run_id")}});
}

void AddScheduleCreateCommand(CLI::App* schedules) {
  struct CreateOptions {
    ConnectionOptions connection;
    std::string workflow;
    std::string cron;
    std::string timezone;
    std::string input;
    std::string overlap;
    std::string catch_up;
    int max_catch_up = 0;
  };
  auto create = std::make_shared<CreateOptions>();
  CLI::App* command = schedules->add_subcommand("create", "Start runs of a workflow on a cron");
  AddConnectionOptions(command, &create->connection);
  command->add_option("--workflow", create->workflow, "Workflow id")->required();
  command->add_option("--cron", create->cron, "Five fields: minute hour day month weekday")
      ->required();
  command->add_option("--timezone", create->timezone, "IANA zone (default UTC)");
  command->add_option("--input", create->input, "The runs' input as JSON");
  command->add_option("--overlap", create->overlap, "skip (default), allow or cancel_previous");
  command->add_option("--catch-up", create->catch_up, "none, latest (default) or all");
  command->add_option("--max-catch-up", create->max_catch_up, "Bound of catch-up all (100)")
      ->check(CLI::PositiveNumber);
  command->callback([create] {
    json body = {{"workflow_id", create->workflow}, {"cron", create->cron}};
    if (!create->input.empty()) {
      body["input"] = json::parse(create->input, nullptr, false);
      if (body["input"].is_discarded()) {
        std::cerr << "error: --input is not valid JSON: " << create->input << "\n";
        Finish(kClientExitNoAnswer);
      }
    }
    for (const auto& [key, value] :
         {std::pair{"timezone", &create->timezone}, std::pair{"overlap", &create->overlap},
          std::pair{"catch_up", &create->catch_up}}) {
      if (!value->empty()) {
        body[key] = *value;
      }
    }
    if (create->max_catch_up > 0) {
      body["max_catch_up"] = create->max_catch_up;
    }
    Finish(Exchange(create->connection, "POST", "/api/v1/schedules", Dump(body), PrintSchedule));
  });
}

void AddSchedulesCommands(CLI::App& app) {
  CLI::App* schedules =
      app.add_subcommand("schedules", "Create, list, pause and resume cron schedules");
  schedules->require_subcommand(1);

  AddPagedListCommand(schedules, "list", "List schedules, newest first", "/api/v1/schedules",
                      PrintSchedules, {{"--workflow", "workflow_id", "Only this workflow's"}});
  AddScheduleCreateCommand(schedules);
  const std::string prefix = "/api/v1/schedules/";
  AddIdCommand(schedules, "get", "Show a schedule and its next fire times", "GET", prefix, "",
               PrintSchedule);
  AddIdCommand(schedules, "pause", "Pause a schedule: its ticks pass without runs", "POST", prefix,
               "/pause", PrintSchedule);
  AddIdCommand(schedules, "resume", "Resume a schedule from its next tick", "POST", prefix,
               "/resume", PrintSchedule);
  AddIdCommand(schedules, "delete", "Delete a schedule (its runs stay)", "DELETE", prefix, "",
               [](const HttpReply&, const json&) { std::cout << "Schedule deleted.\n"; });
}

std::string OperationLine(const json& op) {
  return FieldText(op, "id") + " " + FieldText(op, "action") + " " + FieldText(op, "status") +
         ": " + FieldText(op, "done") + " done, " + FieldText(op, "skipped") + " skipped, " +
         FieldText(op, "failed") + " failed of " + FieldText(op, "total");
}

void PrintOperation(const HttpReply&, const json& body) {
  std::cout << OperationLine(Field(body, "operation")) << "\n";
}

// `bulk ACTION`: the runs a filter matches, previewed or changed by one operation
// (API.md "Bulk controls"); --wait follows the operation to its end.
void AddBulkCommands(CLI::App& app) {
  CLI::App* bulk = app.add_subcommand(
      "bulk", "Pause, resume, cancel or replay every run a filter matches, as one operation");
  bulk->require_subcommand(1);
  struct BulkOptions {
    ConnectionOptions connection;
    std::string filter = "{}";
    std::string status;
    std::string workflow;
    std::string run_ids;
    std::string reason;
    bool preview = false;
    bool wait = false;
  };
  for (const char* action : {"pause", "resume", "cancel", "replay"}) {
    auto options = std::make_shared<BulkOptions>();
    CLI::App* command =
        bulk->add_subcommand(action, std::string("Bulk ") + action + " of the matching runs");
    AddConnectionOptions(command, &options->connection);
    command->add_option("--filter", options->filter,
                        "The run list's parameters as JSON, e.g. '{\"status\": \"waiting\"}'");
    command->add_option("--status", options->status, "Shorthand for the filter's status");
    command->add_option("--workflow", options->workflow, "Shorthand for the filter's workflow_id");
    command->add_option("--run-ids", options->run_ids,
                        "Shorthand for the filter's run_ids: these runs (comma-separated ids)");
    command->add_option("--reason", options->reason, "Why (recorded on each run and the audit)");
    command->add_flag("--preview", options->preview, "Only count the matching runs");
    command->add_flag("--wait", options->wait, "Follow the operation until it completes");
    command->callback([options, action = std::string(action)] {
      json filter = json::parse(options->filter, nullptr, false);
      if (!filter.is_object()) {
        std::cerr << "error: --filter is not a JSON object: " << options->filter << "\n";
        Finish(kClientExitNoAnswer);
      }
      if (!options->status.empty()) {
        filter["status"] = options->status;
      }
      if (!options->workflow.empty()) {
        filter["workflow_id"] = options->workflow;
      }
      if (!options->run_ids.empty()) {
        filter["run_ids"] = options->run_ids;
      }
      json body = {{"filter", filter}, {"action", action}, {"preview", options->preview}};
      if (!options->reason.empty()) {
        body["reason"] = options->reason;
      }
      int code = kExitOk;
      std::optional<HttpReply> reply =
          Call(options->connection, "POST", "/api/v1/runs/bulk", Dump(body), code);
      if (!reply) {
        Finish(code);
      }
      json answer = json::parse(reply->body, nullptr, false);
      while (options->wait && !options->preview &&
             FieldText(Field(answer, "operation"), "status") == "running") {
        std::cerr << OperationLine(Field(answer, "operation")) << "\n";
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        reply = Call(options->connection, "GET",
                     "/api/v1/operations/" + Encode(FieldText(Field(answer, "operation"), "id")),
                     "", code);
        if (!reply) {
          Finish(code);
        }
        answer = json::parse(reply->body, nullptr, false);
      }
      if (options->connection.json) {
        std::cout << nlohmann::ordered_json::parse(reply->body, nullptr, false).dump(2) << "\n";
      } else if (options->preview) {
        std::string sample;
        for (const json& id : Field(answer, "sample")) {
          sample += (sample.empty() ? "" : ", ") + Text(id);
        }
        std::cout << FieldText(answer, "count") << " runs match"
                  << (sample.empty() ? "" : " (" + sample + ")") << ".\n";
      } else {
        PrintOperation(*reply, answer);
      }
    });
  }
  CLI::App* operations = app.add_subcommand("operations", "Show bulk operations");
  operations->require_subcommand(1);
  AddIdCommand(operations, "get", "Show a bulk operation's progress", "GET", "/api/v1/operations/",
               "", PrintOperation);
}

}  // namespace

void AddAdminCommands(CLI::App& app) {
  AddTokensCommands(app);
  AddSchedulesCommands(app);
  AddBulkCommands(app);
}

}  // namespace sw::cli
