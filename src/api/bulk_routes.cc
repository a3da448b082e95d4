// Bulk controls (API.md "Bulk controls", docs/bulk.md): POST /api/v1/runs/bulk
// previews or starts an operation (an operator's), GET /api/v1/operations/{id} shows
// its progress (any role of the workspace).
#include "api/render.h"
#include "api/routes.h"
#include "control/bulk_operations.h"
#include "core/time_format.h"

namespace sw::routes {

using nlohmann::json;

namespace {

json OperationJson(const OperationRecord& op) {
  return json{{"operation",
               {{"id", op.id},
                {"status", op.status},
                {"action", op.action},
                {"filter", op.filter},
                {"reason", op.reason.empty() ? json(nullptr) : json(op.reason)},
                {"actor", op.actor},
                {"total", op.total},
                {"done", op.done},
                {"skipped", op.skipped},
                {"failed", op.failed},
                {"created_at", FormatTime(op.created_at)},
                {"finished_at", TimeOrNull(op.finished_at)}}}};
}

// The body {"filter", "action", "reason"?, "preview"?}; false when it answered.
bool ParseBulk(Call& call, BulkRequest& request, bool& preview) {
  if (!call.ParseObject({"filter", "action", "reason", "preview"}, true)) {
    return false;
  }
  const json& body = call.body;
  if (!body.contains("action") || !body["action"].is_string()) {
    call.Fail(InvalidArgument("'action' must be one of pause, resume, cancel, replay",
                              {.field = "action"}));
    return false;
  }
  request.action = body["action"].get<std::string>();
  if (!body.contains("filter") || !body["filter"].is_object()) {
    call.Fail(InvalidArgument("'filter' must be a JSON object of run list parameters",
                              {.field = "filter"}));
    return false;
  }
  request.filter = body["filter"];
  if (body.contains("reason") && !body["reason"].is_null()) {
    if (!body["reason"].is_string()) {
      call.Fail(InvalidArgument("'reason' must be a string", {.field = "reason"}));
      return false;
    }
    request.reason = body["reason"].get<std::string>();
  }
  preview = false;
  if (body.contains("preview") && !body["preview"].is_null()) {
    if (!body["preview"].is_boolean()) {
      call.Fail(InvalidArgument("'preview' must be true or false", {.field = "preview"}));
      return false;
    }
    preview = body["preview"].get<bool>();
  }
  return true;
}

}  // namespace

void BulkRuns(ApiContext& api, Call& call) {
  BulkRequest request;
  bool preview = false;
  if (!ParseBulk(call, request, preview)) {
    return;
  }
  if (preview) {
    Result<BulkPreview> p = api.bulk.Preview(call.ctx, request);
    if (!p.ok()) {
      call.Fail(p.status());
      return;
    }
    call.Reply(200, json{{"count", p->count}, {"sample", p->sample}});
    return;
  }
  Result<OperationRecord> op = api.bulk.Create(call.ctx, request);
  if (!op.ok()) {
    call.Fail(op.status());
    return;
  }
  call.Reply(202, OperationJson(*op), {{"Location", "/api/v1/operations/" + op->id}});
}

void GetOperation(ApiContext& api, Call& call) {
  Result<OperationRecord> op = api.bulk.Get(call.ctx, call.Param("operation_id"));
  op.ok() ? call.Reply(200, OperationJson(*op)) : call.Fail(op.status());
}

}  // namespace sw::routes
