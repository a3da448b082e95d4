#include "control/run_filter.h"

#include <charconv>
#include <set>

#include "core/ids.h"
#include "core/time_format.h"

namespace sw {

using nlohmann::json;

namespace {

std::optional<int64_t> ParseInt(const std::string& s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

constexpr size_t kMaxJsonMatches = 16;
constexpr size_t kMaxJsonPathKeys = 16;
constexpr size_t kMaxRunIds = 500;
// The most of a refused value a message quotes.
constexpr size_t kMaxQuotedChars = 64;

Status InvalidParameter(const std::string& name, const std::string& message) {
  return InvalidArgument(message, {.field = name});
}

// `input.a.b=V` / `output.a.b=V`: V read as JSON when it parses to a scalar, else as a
// string. Answers false (and leaves `out` alone) for another parameter.
Result<bool> ParseJsonMatch(const std::string& name, const std::string& value,
                            std::vector<RunJsonMatch>& out) {
  RunJsonMatch m;
  std::string path;
  if (name.starts_with("input.")) {
    m.field = RunJsonMatch::Field::kInput;
    path = name.substr(6);
  } else if (name.starts_with("output.")) {
    m.field = RunJsonMatch::Field::kOutput;
    path = name.substr(7);
  } else {
    return false;
  }
  size_t start = 0;
  while (start <= path.size()) {
    size_t dot = std::min(path.find('.', start), path.size());
    std::string key = path.substr(start, dot - start);
    if (key.empty() || key.find('"') != std::string::npos) {
      return InvalidParameter(name, "'" + name +
                                        "': a path of dot-separated keys, none empty and none "
                                        "with a '\"', such as input.customer.id");
    }
    m.keys.push_back(std::move(key));
    start = dot + 1;
  }
  if (m.keys.size() > kMaxJsonPathKeys) {
    return InvalidParameter(
        name, "'" + name + "' has more than " + std::to_string(kMaxJsonPathKeys) + " keys");
  }
  m.value = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (m.value.is_discarded()) {
    m.value = value;
  } else if (m.value.is_structured()) {
    return InvalidParameter(name, "'" + name +
                                      "' must be a scalar (a string, number, boolean or null), "
                                      "not an object or array");
  }
  if (out.size() >= kMaxJsonMatches) {
    return InvalidParameter(
        name, "at most " + std::to_string(kMaxJsonMatches) + " input. and output. filters");
  }
  out.push_back(std::move(m));
  return true;
}

Status ParseTimeFilter(const std::map<std::string, std::string>& q, const char* name,
                       std::optional<int64_t>& into) {
  auto it = q.find(name);
  if (it == q.end() || it->second.empty()) {
    return Status::Ok();
  }
  Result<int64_t> t = ParseTime(it->second);
  if (!t.ok()) {
    return InvalidParameter(name, "'" + std::string(name) +
                                      "' must be an RFC 3339 time such as "
                                      "2026-11-22T10:00:00.000Z");
  }
  into = *t;
  return Status::Ok();
}

Status ParseStatuses(const std::string& value, RunFilter& filter) {
  std::vector<RunStatus> statuses;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string::npos) comma = value.size();
    std::string name = value.substr(start, comma - start);
    std::optional<RunStatus> s = ParseRunStatus(name);
    if (!s) {
      return InvalidParameter("status", "Unknown status '" + name + "'");
    }
    statuses.push_back(*s);
    start = comma + 1;
  }
  filter.statuses = statuses;
  return Status::Ok();
}

// `run_ids`: run ids separated by commas, 1 to kMaxRunIds of them. Empty is refused
// rather than read as "no filter": a bulk operation on exactly the runs listed must
// never become one on every run.
Status ParseRunIds(const std::string& value, RunFilter& filter) {
  if (value.empty()) {
    return InvalidParameter("run_ids", "'run_ids' must list 1 to " + std::to_string(kMaxRunIds) +
                                           " run ids, separated by commas");
  }
  std::vector<std::string> ids;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = std::min(value.find(',', start), value.size());
    std::string id = value.substr(start, comma - start);
    if (!IsWellFormedId("run", id)) {
      return InvalidParameter("run_ids", "'run_ids': '" + id.substr(0, kMaxQuotedChars) +
                                             "' is not a run id (such as run_01JD3…)");
    }
    if (ids.size() == kMaxRunIds) {
      return InvalidParameter(
          "run_ids", "'run_ids' lists more than " + std::to_string(kMaxRunIds) + " run ids");
    }
    ids.push_back(std::move(id));
    start = comma + 1;
  }
  filter.run_ids = std::move(ids);
  return Status::Ok();
}

}  // namespace

Result<RunFilter> ParseRunFilterQuery(const std::map<std::string, std::string>& q) {
  static const std::set<std::string> kKnown = {
      "status",         "workflow_id",    "pause_reason",    "wait_kind",        "q",
      "limit",          "cursor",         "parent_run_id",   "workflow_version", "created_after",
      "created_before", "finished_after", "finished_before", "error_code",       "actor",
      "run_ids"};
  RunFilter filter;
  for (const auto& [key, value] : q) {
    if (kKnown.contains(key)) {
      continue;
    }
    Result<bool> matched = ParseJsonMatch(key, value, filter.json_matches);
    if (!matched.ok()) {
      return matched.status();
    }
    if (!*matched) {
      return InvalidParameter(key, "Unknown query parameter '" + key + "'");
    }
  }
  if (auto it = q.find("status"); it != q.end() && !it->second.empty()) {
    if (Status s = ParseStatuses(it->second, filter); !s.ok()) {
      return s;
    }
  }
  if (auto it = q.find("run_ids"); it != q.end()) {
    if (Status s = ParseRunIds(it->second, filter); !s.ok()) {
      return s;
    }
  }
  auto set = [&q](const char* name, auto& field) {
    if (auto it = q.find(name); it != q.end() && !it->second.empty()) {
      field = it->second;
    }
  };
  set("workflow_id", filter.workflow_id);
  set("pause_reason", filter.pause_reason);
  set("parent_run_id", filter.parent_run_id);
  set("wait_kind", filter.wait_kind);
  set("q", filter.id_contains);
  set("error_code", filter.error_code);
  set("actor", filter.actor);
  // Unknown values are refused like unknown statuses, not answered with an empty list.
  if (filter.pause_reason && !ParsePauseReason(*filter.pause_reason)) {
    return InvalidParameter(
        "pause_reason", "Unknown pause_reason '" + *filter.pause_reason + "' (operator or reauth)");
  }
  if (filter.wait_kind && !ParseWaitKind(*filter.wait_kind)) {
    return InvalidParameter("wait_kind", "Unknown wait_kind '" + *filter.wait_kind + "'");
  }
  if (auto it = q.find("workflow_version"); it != q.end() && !it->second.empty()) {
    std::optional<int64_t> v = ParseInt(it->second);
    if (!v || *v < 1) {
      return InvalidParameter("workflow_version", "'workflow_version' must be an integer from 1");
    }
    filter.workflow_version = *v;
  }
  for (auto [name, field] : {std::pair{"created_after", &filter.created_after},
                             std::pair{"created_before", &filter.created_before},
                             std::pair{"finished_after", &filter.finished_after},
                             std::pair{"finished_before", &filter.finished_before}}) {
    if (Status s = ParseTimeFilter(q, name, *field); !s.ok()) {
      return s;
    }
  }
  if (auto it = q.find("cursor"); it != q.end() && !it->second.empty()) {
    if (!IsWellFormedId("run", it->second)) {
      return InvalidParameter("cursor", "'cursor' is not a cursor this server gave out");
    }
    filter.cursor = it->second;
  }
  if (auto it = q.find("limit"); it != q.end()) {
    std::optional<int64_t> v = ParseInt(it->second);
    if (!v || *v < 1 || *v > 500) {
      return InvalidParameter("limit", "'limit' must be an integer from 1 to 500");
    }
    filter.limit = static_cast<int>(*v);
  }
  return filter;
}

Result<RunFilter> ParseRunFilterJson(const json& filter) {
  if (!filter.is_object()) {
    return InvalidParameter("filter", "'filter' must be a JSON object of run list parameters");
  }
  std::map<std::string, std::string> q;
  for (const auto& [key, value] : filter.items()) {
    if (key == "limit" || key == "cursor") {
      return InvalidParameter(key, "'" + key +
                                       "' pages a list; a bulk operation takes every run the "
                                       "filter matches");
    }
    const bool json_match = key.starts_with("input.") || key.starts_with("output.");
    if (json_match && !value.is_structured()) {
      q[key] = value.dump();  // read back as JSON, so "42" stays a string and 42 a number
    } else if (value.is_string()) {
      q[key] = value.get<std::string>();
    } else if (value.is_number_integer()) {
      q[key] = value.dump();
    } else if (key == "run_ids" && value.is_array()) {
      std::string joined;
      for (const json& id : value) {
        if (!id.is_string() || id.get<std::string>().find(',') != std::string::npos) {
          return InvalidParameter(key, "'run_ids' must be an array of run ids (strings)");
        }
        joined += (joined.empty() ? "" : ",") + id.get<std::string>();
      }
      q[key] = joined;  // empty: refused as a list of no runs
    } else if (key == "status" && value.is_array() && !value.empty()) {
      std::string joined;
      for (const json& s : value) {
        if (!s.is_string()) {
          return InvalidParameter(key, "'status' must be a status or an array of statuses");
        }
        joined += (joined.empty() ? "" : ",") + s.get<std::string>();
      }
      q[key] = joined;
    } else {
      return InvalidParameter(key, "filter '" + key + "' must be a string" +
                                       (json_match ? " or another JSON scalar" : ""));
    }
  }
  return ParseRunFilterQuery(q);
}

}  // namespace sw
