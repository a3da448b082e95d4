// Approvals and forms (API.md "Approvals", "Forms"): the inbox, one approval, decisions,
// magic links, and a form's read and submit.
#include <map>
#include <set>

#include "api/render.h"
#include "api/routes.h"
#include "control/human_tasks.h"
#include "core/time_format.h"

namespace sw::routes {

using nlohmann::json;

namespace {

constexpr size_t kMaxCommentBytes = 4000;
constexpr size_t kMaxRecipientBytes = 320;

// The inbox's filter from the query, or the error to answer.
Result<HumanTaskFilter> ParseApprovalFilter(const std::map<std::string, std::string>& q) {
  static const std::set<std::string> kKnown = {"status", "run_id", "limit", "cursor"};
  for (const auto& [key, value] : q) {
    if (!kKnown.contains(key)) {
      return InvalidArgument("Unknown query parameter '" + key + "'");
    }
  }
  HumanTaskFilter filter;
  filter.kind = kApprovalKind;
  if (auto it = q.find("status"); it != q.end() && !it->second.empty()) {
    if (!ParseApprovalStatus(it->second)) {
      return InvalidArgument("Unknown status '" + it->second + "'", {.field = "status"});
    }
    filter.status = it->second;
  }
  if (auto it = q.find("run_id"); it != q.end() && !it->second.empty()) {
    filter.run_id = it->second;
  }
  if (auto it = q.find("cursor"); it != q.end()) {
    filter.cursor = it->second;
  }
  if (auto it = q.find("limit"); it != q.end()) {
    std::optional<int64_t> v = ParseInt(it->second);
    if (!v || *v < 1 || *v > 500) {
      return InvalidArgument("'limit' must be an integer from 1 to 500");
    }
    filter.limit = static_cast<int>(*v);
  }
  return filter;
}

void ReplyTask(Call& call, int status, const Result<HumanTaskRecord>& task) {
  if (!task.ok()) {
    call.Fail(task.status());
    return;
  }
  Result<json> body = task->kind == kApprovalKind ? ApprovalJson(*task) : FormJson(*task);
  body.ok() ? call.Reply(status, *body) : call.Fail(body.status());
}

}  // namespace

Result<DecisionRequest> ParseDecision(const json& body) {
  DecisionRequest request;
  const json decision = body.value("decision", json());
  if (!decision.is_string() ||
      (decision.get<std::string>() != "approve" && decision.get<std::string>() != "deny")) {
    return InvalidArgument("'decision' must be \"approve\" or \"deny\"", {.field = "decision"});
  }
  request.approve = decision.get<std::string>() == "approve";
  if (body.contains("comment") && !body["comment"].is_null()) {
    if (!body["comment"].is_string() ||
        body["comment"].get<std::string>().size() > kMaxCommentBytes) {
      return InvalidArgument(
          "'comment' must be a string of at most " + std::to_string(kMaxCommentBytes) + " bytes",
          {.field = "comment"});
    }
    request.comment = body["comment"].get<std::string>();
  }
  return request;
}

void ListApprovals(ApiContext& api, Call& call) {
  Result<HumanTaskFilter> filter = ParseApprovalFilter(call.req.query);
  if (!filter.ok()) {
    call.Fail(filter.status());
    return;
  }
  Result<HumanTaskPage> page = api.tasks.List(call.ctx, *filter);
  if (!page.ok()) {
    call.Fail(page.status());
    return;
  }
  json items = json::array();
  for (const HumanTaskRecord& task : page->items) {
    Result<json> item = ApprovalJson(task);
    if (!item.ok()) {
      call.Fail(item.status());
      return;
    }
    items.push_back(std::move(item).value());
  }
  call.Reply(200,
             json{{"items", std::move(items)},
                  {"next_cursor", page->next_cursor.empty() ? json() : json(page->next_cursor)}});
}

void GetApproval(ApiContext& api, Call& call) {
  ReplyTask(call, 200, api.tasks.Get(call.ctx, kApprovalKind, call.Param("approval_id")));
}

void DecideApproval(ApiContext& api, Call& call) {
  if (!call.ParseObject({"decision", "comment"}, true)) {
    return;
  }
  Result<DecisionRequest> request = ParseDecision(call.body);
  if (!request.ok()) {
    call.Fail(request.status());
    return;
  }
  request->via = call.via_cookie ? "ui" : "api";
  ReplyTask(call, 200, api.tasks.Decide(call.ctx, call.Param("approval_id"), *request));
}

void CreateApprovalLink(ApiContext& api, Call& call) {
  if (!call.ParseObject({"recipient"}, true)) {
    return;
  }
  const json recipient = call.body.value("recipient", json());
  if (!recipient.is_string() || recipient.get<std::string>().empty() ||
      recipient.get<std::string>().size() > kMaxRecipientBytes) {
    call.Fail(InvalidArgument("'recipient' must be a non-empty string of at most " +
                                  std::to_string(kMaxRecipientBytes) + " bytes",
                              {.field = "recipient"}));
    return;
  }
  Result<MagicLink> link =
      api.tasks.CreateLink(call.ctx, call.Param("approval_id"), recipient.get<std::string>());
  if (!link.ok()) {
    call.Fail(link.status());
    return;
  }
  call.Reply(
      201, json{{"url", "/approve/" + link->token}, {"expires_at", FormatTime(link->expires_at)}});
}

void GetForm(ApiContext& api, Call& call) {
  ReplyTask(call, 200, api.tasks.Get(call.ctx, kFormKind, call.Param("form_id")));
}

void SubmitForm(ApiContext& api, Call& call) {
  if (!call.ParseObject({"data"}, true)) {
    return;
  }
  if (!call.body.contains("data")) {
    call.Fail(InvalidArgument("'data' is required", {.field = "data"}));
    return;
  }
  ReplyTask(call, 200, api.tasks.SubmitForm(call.ctx, call.Param("form_id"), call.body["data"]));
}

}  // namespace sw::routes
