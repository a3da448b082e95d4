// The magic link's page (API.md "Approvals"): GET /approve/{token} shows the approval
// (message, reversibility, run) with an approve/deny form that needs no script and no
// sign-in; POST decides once, answering JSON to a JSON body and a 303 to the result
// page to the page's form post. A used, expired or closed link answers 410.
#include <string>

#include "api/html_page.h"
#include "api/render.h"
#include "api/request_target.h"
#include "api/routes.h"
#include "control/human_tasks.h"
#include "core/time_format.h"

namespace sw::routes {

using nlohmann::json;

namespace {

// `hint`: the decision the link in a message was for ("approve", "deny" or ""): the
// page says so and focuses that button; only the POST decides (a GET never does, so a
// mail scanner that follows links changes nothing).
std::string ApprovalPage(const json& a, const std::string& token, const std::string& hint) {
  const std::string rev = a["reversibility"].get<std::string>();
  const std::string rev_label = rev == "irreversible" ? "Irreversible"
                                : rev == "safe"       ? "Safe"
                                                      : "Recoverable";
  int approvals = 0;
  for (const json& d : a["decisions"]) {
    approvals += d["decision"] == "approve" ? 1 : 0;
  }
  const std::string chosen =
      hint == "approve" || hint == "deny"
          ? "<p>You chose to <strong>" + hint + "</strong>. Confirm below.</p>"
          : "";
  return "<h1>Approval requested</h1><p class=\"msg\">" +
         HtmlEscape(a["message"].get<std::string>()) +
         "</p><dl><dt>Reversibility</dt><dd><span class=\"rev " + HtmlEscape(rev) + "\">" +
         rev_label + "</span></dd><dt>Workflow</dt><dd>" +
         HtmlEscape(a["workflow_id"].get<std::string>()) + "</dd><dt>Run</dt><dd>" +
         HtmlEscape(a["run_id"].get<std::string>()) + "</dd><dt>Approvals</dt><dd>" +
         std::to_string(approvals) + " of " + std::to_string(a["required"].get<int>()) +
         "</dd><dt>Expires</dt><dd>" +
         HtmlEscape(a["expires_at"].is_string() ? a["expires_at"].get<std::string>() : "never") +
         "</dd></dl>" + chosen + "<form method=\"post\" action=\"/approve/" + HtmlEscape(token) +
         "\"><p><label for=\"comment\">Comment (optional)</label><br><textarea id=\"comment\" "
         "name=\"comment\" maxlength=\"4000\"></textarea></p><button class=\"approve\" "
         "type=\"submit\" name=\"decision\" value=\"approve\"" +
         std::string(hint == "approve" ? " autofocus" : "") +
         ">Approve</button><button class=\"deny\" type=\"submit\" name=\"decision\" "
         "value=\"deny\"" +
         std::string(hint == "deny" ? " autofocus" : "") + ">Deny</button></form>";
}

void ReplyGone(Call& call, bool html, const std::string& reason) {
  if (!html) {
    call.Fail(Status(StatusCode::kFailedPrecondition, "This link can no longer be used: " + reason,
                     "gone"));
    return;
  }
  ReplyHtml(call, 410, "Link no longer valid",
            "<h1>This link can no longer be used</h1><p>" + HtmlEscape(reason) + ".</p>");
}

}  // namespace

void ApprovalLinkPage(ApiContext& api, Call& call) {
  const std::string& token = call.Param("token");
  Result<LinkView> view = api.tasks.ViewLink(token);
  if (!view.ok()) {
    view.status().code() == StatusCode::kNotFound
        ? ReplyHtml(call, 404, "Not found", "<h1>No such link</h1>")
        : call.Fail(view.status());
    return;
  }
  if (!view->gone_reason.empty()) {
    ReplyGone(call, true, view->gone_reason);
    return;
  }
  Result<json> approval = ApprovalJson(view->approval);
  if (!approval.ok()) {
    call.Fail(approval.status());
    return;
  }
  auto hint = call.req.query.find("decision");
  ReplyHtml(call, 200, "Approval requested",
            ApprovalPage(*approval, token, hint == call.req.query.end() ? "" : hint->second));
}

void DecideByLink(ApiContext& api, Call& call) {
  const bool form_post =
      call.req.Header("content-type").starts_with("application/x-www-form-urlencoded");
  if (form_post) {
    Result<RequestTarget> fields = ParseRequestTarget("/?" + call.req.body);
    if (!fields.ok()) {
      ReplyHtml(call, 400, "Bad request", "<h1>The form could not be read</h1>");
      return;
    }
    call.body = json::object();
    for (const auto& [name, value] : fields->query) {
      if (name == "decision" || name == "comment") {
        call.body[name] = value;
      }
    }
  } else if (!call.ParseObject({"decision", "comment"}, true)) {
    return;
  }
  Result<DecisionRequest> request = ParseDecision(call.body);
  if (!request.ok()) {
    form_post ? ReplyHtml(call, 400, "Bad request", "<h1>Choose Approve or Deny</h1>")
              : call.Fail(request.status());
    return;
  }
  Result<HumanTaskRecord> after = api.tasks.DecideByLink(call.Param("token"), *request);
  if (!after.ok()) {
    if (after.status().reason() == "gone") {
      ReplyGone(call, form_post, after.status().message());
    } else if (form_post && after.status().code() == StatusCode::kNotFound) {
      ReplyHtml(call, 404, "Not found", "<h1>No such link</h1>");
    } else {
      call.Fail(after.status());
    }
    return;
  }
  if (form_post) {
    Response r;
    r.status = 303;
    r.headers = {{"Location",
                  "/approve/done?decision=" + std::string(request->approve ? "approve" : "deny") +
                      "&status=" + after->status},
                 {"X-Request-Id", call.request_id}};
    call.ex->Respond(std::move(r));
    return;
  }
  Result<json> body = ApprovalJson(*after);
  body.ok() ? call.Reply(200, *body) : call.Fail(body.status());
}

void ApprovalLinkDone(ApiContext&, Call& call) {
  auto field = [&](const char* name) {
    auto it = call.req.query.find(name);
    return it == call.req.query.end() ? std::string() : it->second;
  };
  const std::string decision = field("decision") == "deny" ? "denied" : "approved";
  const std::string status = field("status");
  std::string text = "You " + decision + " this request.";
  if (status == "pending") {
    text += " It waits for further approvers.";
  } else if (status == "approved" || status == "denied") {
    text += " The approval is now " + status + ".";
  }
  ReplyHtml(call, 200, "Thank you", "<h1>Thank you</h1><p>" + HtmlEscape(text) + "</p>");
}

}  // namespace sw::routes
