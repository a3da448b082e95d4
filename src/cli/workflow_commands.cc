// `stepwell workflows …` (client_commands.h lists them): apply, validate (offline), list,
// get, disable, enable and resume.
#include <array>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "cli/client_commands.h"
#include "cli/client_kit.h"
#include "cli/definition_file.h"
#include "core/definition.h"

namespace sw::cli {
namespace {

using nlohmann::json;

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

// `workflows resume|disable|enable WF`.
void AddWorkflowStateCommands(CLI::App* workflows) {
  struct StateOptions {
    ConnectionOptions connection;
    std::string workflow_id;
  };
  // Subcommand, help, route suffix, body.
  static const std::vector<std::array<const char*, 4>> kCommands = {
      {"resume", "Resume a workflow paused for safety by its throughput breaker", "/resume", "{}"},
      {"disable", "Disable a workflow: new runs are refused, runs in flight go on", "/status",
       R"({"status":"disabled"})"},
      {"enable", "Enable a disabled workflow", "/status", R"({"status":"active"})"},
  };
  for (const auto& [name, help, suffix, body] : kCommands) {
    auto state = std::make_shared<StateOptions>();
    CLI::App* command = workflows->add_subcommand(name, help);
    AddConnectionOptions(command, &state->connection);
    command->add_option("WF", state->workflow_id, "Workflow id")->required();
    command->callback([state, suffix = std::string(suffix), body = std::string(body)] {
      Finish(Exchange(state->connection, "POST",
                      "/api/v1/workflows/" + Encode(state->workflow_id) + suffix, body,
                      PrintWorkflowResumed));
    });
  }
}

void PrintWorkflow(const HttpReply&, const json& workflow) {
  std::vector<std::pair<std::string, std::string>> lines = {
      {"ID", FieldText(workflow, "id")},
      {"Version", FieldText(workflow, "version")},
      {"Status", WorkflowStatusText(workflow)},
      {"Kind", FieldText(workflow, "kind")},
  };
  for (const auto& [key, label] : std::vector<std::pair<const char*, const char*>>{
           {"created_at", "Created"}, {"updated_at", "Updated"}}) {
    if (HasField(workflow, key)) {
      lines.emplace_back(label, FieldText(workflow, key));
    }
  }
  PrintOverview(lines);
  const json& definition = Field(workflow, "definition");
  if (!definition.is_null()) {
    std::cout << "\nDefinition:\n" << definition.dump(2) << "\n";
  }
}

// `workflows get WF [--version N]`.
void AddWorkflowGetCommand(CLI::App* workflows) {
  struct GetOptions {
    ConnectionOptions connection;
    std::string workflow_id;
    int version = 0;
  };
  auto get = std::make_shared<GetOptions>();
  CLI::App* command = workflows->add_subcommand("get", "Show a workflow and its definition");
  AddConnectionOptions(command, &get->connection);
  command->add_option("WF", get->workflow_id, "Workflow id")->required();
  command->add_option("--version", get->version, "An earlier version (default: the latest)")
      ->check(CLI::PositiveNumber);
  command->callback([get] {
    std::string target = "/api/v1/workflows/" + Encode(get->workflow_id);
    if (get->version > 0) {
      target += "/versions/" + std::to_string(get->version);
    }
    Finish(Exchange(get->connection, "GET", target, "", PrintWorkflow));
  });
}

// `workflows validate FILE`: the server's own definition checks, offline.
void AddWorkflowValidateCommand(CLI::App* workflows) {
  auto file = std::make_shared<std::string>();
  CLI::App* command = workflows->add_subcommand(
      "validate", "Check a definition file as the server would, without a server");
  command->add_option("FILE", *file, "Definition file (.yaml, .yml or .json)")->required();
  command->callback([file] {
    Result<json> definition = LoadDefinitionFile(*file);
    if (!definition.ok()) {
      std::cerr << "error: " << definition.status().message() << "\n";
      Finish(kClientExitNoAnswer);
    }
    const json& id = Field(*definition, "id");
    const std::string workflow_id = id.is_string() ? id.get<std::string>() : "";
    if (workflow_id.empty()) {
      std::cerr << "error: " << *file << " has no `id`: the definition's id names the workflow\n";
      Finish(kClientExitNoAnswer);
    }
    Result<std::shared_ptr<const Definition>> parsed = ParseDefinition(*definition, workflow_id);
    if (!parsed.ok()) {
      const Status refused = parsed.status();
      const ErrorDetail& detail = refused.detail();
      std::cerr << "error: " << *file << ": " << refused.message() << "\n";
      if (!detail.step_id.empty()) {
        std::cerr << "  step_id: " << detail.step_id << "\n";
      }
      if (!detail.field.empty()) {
        std::cerr << "  field: " << detail.field << "\n";
      }
      Finish(kClientExitNoAnswer);
    }
    std::cout << *file << ": workflow " << workflow_id << " is valid (" << (*parsed)->steps.size()
              << " top-level steps).\n";
  });
}

}  // namespace

void AddWorkflowsCommands(CLI::App& app) {
  CLI::App* workflows =
      app.add_subcommand("workflows", "Apply, validate, list, show and change workflows");
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

  AddPagedListCommand(workflows, "list", "List workflows", "/api/v1/workflows", PrintWorkflowList);

  AddWorkflowStateCommands(workflows);
  AddWorkflowGetCommand(workflows);
  AddWorkflowValidateCommand(workflows);
}

}  // namespace sw::cli
