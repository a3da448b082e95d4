#include "cli/client_kit.h"

#include <unistd.h>

#include <algorithm>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <chrono>
#include <ctime>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/client_commands.h"

namespace sw::cli {

using nlohmann::json;

namespace {

constexpr std::size_t kMaxErrorBodyChars = 200;

}  // namespace

void AddConnectionOptions(CLI::App* command, ConnectionOptions* options) {
  command->add_option("--server", options->server, "Server URL, http://host:port")
      ->envname("STEPWELL_SERVER")
      ->capture_default_str();
  command->add_option("--token", options->token, "API token")->envname("STEPWELL_TOKEN");
  command->add_flag("--json", options->json, "Print the reply body as JSON");
}

void Finish(int code) {
  if (code != kExitOk) {
    throw CLI::RuntimeError(code);
  }
}

std::string Encode(std::string_view text) {
  return boost::urls::encode(text, boost::urls::unreserved_chars);
}

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

std::string Dump(const json& value, int indent) {
  return value.dump(indent, ' ', false, json::error_handler_t::replace);
}

std::string Truncate(std::string text, std::size_t max_chars) {
  if (text.size() > max_chars) {
    text.resize(max_chars - 3);
    text += "...";
  }
  return text;
}

std::string OneLine(std::string text) {
  std::replace_if(
      text.begin(), text.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }, ' ');
  return text;
}

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

namespace {

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

}  // namespace

std::optional<HttpReply> Call(const ConnectionOptions& options, const std::string& method,
                              const std::string& target, const std::string& body, int& exit_code) {
  if (options.token.empty()) {
    std::cerr << "error: no API token: pass --token or set STEPWELL_TOKEN (the admin token is "
                 "in <data-dir>/admin-token)\n";
    exit_code = kClientExitNoAnswer;
    return std::nullopt;
  }
  Result<HttpReply> reply = HttpCall(options.server, method, target, options.token, body);
  if (!reply.ok()) {
    std::cerr << "error: " << reply.status().message() << "\n";
    if (reply.status().code() == StatusCode::kUnavailable) {
      std::cerr << "(is `stepwell serve` running at " << options.server
                << "? set --server or STEPWELL_SERVER)\n";
    }
    exit_code = kClientExitNoAnswer;
    return std::nullopt;
  }
  if (reply->status < 200 || reply->status > 299) {
    PrintErrorReply(*reply);
    exit_code = kClientExitServerError;
    return std::nullopt;
  }
  exit_code = kExitOk;
  return std::move(reply).value();
}

namespace {

// Shows a 2xx reply: `print`, or the body as pretty JSON with --json.
void Show(const ConnectionOptions& options, const HttpReply& reply, const Printer& print) {
  json parsed = json::parse(reply.body, nullptr, false);
  if (parsed.is_discarded()) {
    parsed = nullptr;
  }
  if (!options.json) {
    print(reply, parsed);
  } else if (!parsed.is_null()) {
    // ordered_json keeps the server's key order, which json (sorted keys) would not.
    nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(reply.body, nullptr, false);
    std::cout << ordered.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace)
              << "\n";
  } else if (!reply.body.empty()) {
    std::cout << reply.body << "\n";
  }
}

std::string UtcNow() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

}  // namespace

int Exchange(const ConnectionOptions& options, const std::string& method, const std::string& target,
             const std::string& body, const Printer& print) {
  int exit_code = kExitOk;
  std::optional<HttpReply> reply = Call(options, method, target, body, exit_code);
  if (reply) {
    Show(options, *reply, print);
  }
  return exit_code;
}

void AddPagedListCommand(CLI::App* parent, const char* name, const char* help,
                         const std::string& path, const Printer& print,
                         const std::vector<ListFilter>& filters) {
  struct ListOptions {
    ConnectionOptions connection;
    int limit = 0;
    std::string cursor;
    std::vector<std::string> values;  // by filter
  };
  auto list = std::make_shared<ListOptions>();
  list->values.resize(filters.size());
  CLI::App* command = parent->add_subcommand(name, help);
  AddConnectionOptions(command, &list->connection);
  command->add_option("--limit", list->limit, "Page size (default 50)")
      ->check(CLI::Range(1, kMaxListLimit));
  command->add_option("--cursor", list->cursor, "Continue from this cursor");
  for (size_t i = 0; i < filters.size(); ++i) {
    command->add_option(filters[i].flag, list->values[i], filters[i].help);
  }
  command->callback([list, path, print, filters] {
    std::vector<std::pair<std::string, std::string>> params = {
        {"limit", list->limit > 0 ? std::to_string(list->limit) : ""}, {"cursor", list->cursor}};
    for (size_t i = 0; i < filters.size(); ++i) {
      params.emplace_back(filters[i].param, list->values[i]);
    }
    Finish(Exchange(list->connection, "GET", path + Query(params), "", print));
  });
}

int Watch(const ConnectionOptions& options, const std::string& target, double interval_s,
          const Printer& print) {
  const bool tty = isatty(STDOUT_FILENO) != 0;
  std::string shown;
  while (true) {
    int exit_code = kExitOk;
    std::optional<HttpReply> reply = Call(options, "GET", target, "", exit_code);
    if (!reply) {
      return exit_code;
    }
    if (reply->body != shown) {
      shown = reply->body;
      if (tty) {
        std::cout << "\033[H\033[2J";  // home, clear the screen
      }
      std::cout << "Every " << interval_s << " s, at " << UtcNow() << ": GET " << target << "\n\n";
      Show(options, *reply, print);
      std::cout << std::flush;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(interval_s));
  }
}

}  // namespace sw::cli
