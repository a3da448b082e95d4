// The pieces every client command of the `stepwell` CLI shares (client_commands.h
// describes the commands and their exit codes): the --server/--token/--json options,
// one request and its outcome shown (Exchange), and text helpers for tables and
// overviews of JSON answers.
//
// Not thread-safe: commands run one at a time, from main; output goes to std::cout,
// errors to std::cerr.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/http_client.h"

namespace sw::cli {

inline constexpr int kExitOk = 0;
inline constexpr char kDefaultServer[] = "http://127.0.0.1:8420";
inline constexpr int kMaxListLimit = 500;  // The API's maximum page size.
inline constexpr std::size_t kMaxCellChars = 60;
inline constexpr std::size_t kMaxValueChars = 200;

// Options every leaf subcommand takes.
struct ConnectionOptions {
  std::string server = kDefaultServer;
  std::string token;
  bool json = false;
};

void AddConnectionOptions(CLI::App* command, ConnectionOptions* options);

// Turns a command's exit code into what CLI11 expects from a callback
// (client_commands.h): returns for kExitOk, else throws CLI::RuntimeError(code).
void Finish(int code);

// Percent-encodes everything but RFC 3986 unreserved characters, for path segments and
// query values: a "/" in an id stays inside its segment, a "+" is not a space.
std::string Encode(std::string_view text);

// Builds "?a=1&b=2" from the pairs whose value is non-empty.
std::string Query(const std::vector<std::pair<std::string, std::string>>& params);

std::string Dump(const nlohmann::json& value, int indent = -1);
std::string Truncate(std::string text, std::size_t max_chars);
// One line of text for a table cell or an overview value: control characters become
// spaces.
std::string OneLine(std::string text);
// A JSON value as display text: strings bare, null and missing as "-".
std::string Text(const nlohmann::json& value);
// `object[key]`, or null when `object` is not an object or has no `key`.
const nlohmann::json& Field(const nlohmann::json& object, const char* key);
std::string FieldText(const nlohmann::json& object, const char* key);
bool HasField(const nlohmann::json& object, const char* key);

using Row = std::vector<std::string>;
// Prints rows under a header, columns aligned, two spaces apart.
void PrintTable(const Row& header, const std::vector<Row>& rows);
// Prints "key:  value" lines with the values aligned.
void PrintOverview(const std::vector<std::pair<std::string, std::string>>& lines);
// "More: --cursor C" under a list page that has a next cursor.
void PrintNextCursor(const nlohmann::json& page);

// Shows a 2xx reply without --json. `body` is null when the reply was not JSON.
using Printer = std::function<void(const HttpReply& reply, const nlohmann::json& body)>;

// Sends one request and shows the outcome: `print` for a 2xx reply (or the body as
// pretty JSON with --json), `error: <message> (<code>)` and the error object's other
// fields on stderr for any other. Returns the exit code (client_commands.h).
int Exchange(const ConnectionOptions& options, const std::string& method, const std::string& target,
             const std::string& body, const Printer& print);

// A list route's filter as a command's option: `--flag VALUE` sends `param=VALUE`.
struct ListFilter {
  std::string flag;
  std::string param;
  std::string help;
};

// Adds `parent NAME [--limit N] [--cursor C] [filters]` that GETs the list route `path` a
// page at a time and shows it with `print`.
void AddPagedListCommand(CLI::App* parent, const char* name, const char* help,
                         const std::string& path, const Printer& print,
                         const std::vector<ListFilter>& filters = {});

// GETs `target` every `interval_s` seconds and shows the reply as Exchange does each
// time it changed (the screen cleared first on a terminal), until interrupted or a
// request fails (its exit code).
int Watch(const ConnectionOptions& options, const std::string& target, double interval_s,
          const Printer& print);

// One request without showing its reply: the reply when it is 2xx; else the error is
// printed as Exchange prints it and the exit code is in `exit_code`.
std::optional<HttpReply> Call(const ConnectionOptions& options, const std::string& method,
                              const std::string& target, const std::string& body, int& exit_code);

}  // namespace sw::cli
