// Workflows: list, get, apply (PUT), one version's definition, status, the safety
// resume, and the synchronous invoke of a script.

#include <algorithm>
#include <climits>

#include "api/render.h"
#include "api/routes.h"
#include "control/workflow_safety.h"
#include "core/ids.h"

namespace sw::routes {

using nlohmann::json;

void ListWorkflows(ApiContext& api, Call& call) {
  int64_t limit = 50;
  std::string cursor;
  for (const auto& [key, value] : call.req.query) {
    if (key == "limit") {
      std::optional<int64_t> v = ParseInt(value);
      if (!v || *v < 1 || *v > 500) {
        call.Fail(InvalidArgument("'limit' must be an integer from 1 to 500"));
        return;
      }
      limit = *v;
    } else if (key == "cursor") {
      if (!value.empty() && !IsValidSlug(value)) {
        call.Fail(InvalidArgument("'cursor' is not a cursor this server gave out"));
        return;
      }
      cursor = value;
    } else {
      call.Fail(InvalidArgument("Unknown query parameter '" + key + "'"));
      return;
    }
  }
  Result<std::vector<WorkflowRecord>> list = api.control.ListWorkflows(call.ctx);
  if (!list.ok()) {
    call.Fail(list.status());
    return;
  }
  // A page's cursor is the id of its last workflow, and workflows are never deleted.
  if (!cursor.empty() && std::none_of(list->begin(), list->end(),
                                      [&](const WorkflowRecord& wf) { return wf.id == cursor; })) {
    call.Fail(InvalidArgument("'cursor' is not a cursor this server gave out"));
    return;
  }
  // Workflows are few and listed by id; the cursor is the last id of the page.
  json items = json::array();
  json next = nullptr;
  for (const WorkflowRecord& wf : *list) {
    if (!cursor.empty() && wf.id <= cursor) {
      continue;
    }
    if (static_cast<int64_t>(items.size()) == limit) {
      next = items.back()["id"];
      break;
    }
    items.push_back(WorkflowJson(wf, false));
  }
  call.Reply(200, json{{"items", items}, {"next_cursor", next}});
}

void GetWorkflow(ApiContext& api, Call& call) {
  Result<WorkflowRecord> got = api.control.GetWorkflow(call.ctx, call.Param("workflow_id"));
  got.ok() ? call.Reply(200, WorkflowJson(*got, true)) : call.Fail(got.status());
}

void PutWorkflow(ApiContext& api, Call& call) {
  if (!call.ParseJson(true)) return;
  Result<PutWorkflowResult> put =
      api.control.ApplyWorkflow(call.ctx, call.Param("workflow_id"), call.body);
  if (!put.ok()) {
    call.Fail(put.status());
    return;
  }
  call.Reply(put->created ? 201 : 200, WorkflowJson(put->workflow, true));
}

// One version's definition, for the version history (1 .. the workflow's version).
void GetWorkflowVersion(ApiContext& api, Call& call) {
  const std::string& wf = call.Param("workflow_id");
  const std::string& version = call.Param("version");
  std::optional<int64_t> n = ParseInt(version);
  if (!n || *n < 1 || *n > INT32_MAX) {
    call.Fail(NotFound("No version " + version + " of workflow " + wf));
    return;
  }
  Result<json> def = api.definitions.Version(call.ctx, wf, static_cast<int>(*n));
  if (!def.ok()) {
    call.Fail(def.status());
    return;
  }
  call.Reply(200, json{{"workflow_id", wf}, {"version", *n}, {"definition", *def}});
}

void SetWorkflowStatus(ApiContext& api, Call& call) {
  if (!call.ParseObject({"status"}, true)) return;
  if (!call.body.contains("status") || !call.body["status"].is_string()) {
    call.Fail(InvalidArgument("'status' must be 'active' or 'disabled'"));
    return;
  }
  Result<WorkflowRecord> updated = api.control.SetWorkflowStatus(
      call.ctx, call.Param("workflow_id"), call.body["status"].get<std::string>());
  updated.ok() ? call.Reply(200, WorkflowJson(*updated, true)) : call.Fail(updated.status());
}

void ResumeWorkflow(ApiContext& api, Call& call) {
  if (!call.ParseObject({})) return;
  Result<WorkflowRecord> resumed =
      sw::ResumeWorkflow(api.control, call.ctx, call.Param("workflow_id"));
  resumed.ok() ? call.Reply(200, WorkflowJson(*resumed, true)) : call.Fail(resumed.status());
}

void InvokeWorkflow(ApiContext& api, Call& call) {
  if (!call.ParseJson(false)) return;
  api.scripts.Invoke(call.ctx, call.Param("workflow_id"), call.body,
                     [call](Result<json> out) mutable {
                       out.ok() ? call.Reply(200, *out) : call.Fail(out.status());
                     });
}

}  // namespace sw::routes
