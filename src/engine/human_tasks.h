// Approvals and forms as the engine and control change them: their store records read
// as core's Approval and Form, the result a resolved one gives its waiting step, and
// the change of a task together with its run in one compare-and-set
// (Engine::ChangeHumanTask, in human_tasks.cc).
//
// Pure functions here; thread-safe.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/approval.h"
#include "core/form.h"
#include "core/result.h"
#include "store/notification_records.h"
#include "store/records.h"

namespace sw {

inline constexpr char kApprovalKind[] = "approval";
inline constexpr char kFormKind[] = "form";

// The record's body, status and resolution as core reads them (kInternal
// "data_corruption" when they do not parse).
Result<Approval> ApprovalOf(const HumanTaskRecord& record);
Result<Form> FormOf(const HumanTaskRecord& record);
// Writes `approval` (or `form`) into `record`: status, body, resolution, expiry.
void StoreInto(const Approval& approval, HumanTaskRecord& record);
void StoreInto(const Form& form, HumanTaskRecord& record);

// What the task's waiting step gets once it is resolved: completes with `output`, or
// fails with `error` ({message, code}). Nothing while it is open.
struct HumanTaskResult {
  bool completes = false;
  nlohmann::json output;
  nlohmann::json error;
};
Result<std::optional<HumanTaskResult>> ResultOf(const HumanTaskRecord& record);

// The notification a task sends: `kind` is approval_requested (also on escalation),
// approval_expired or form_requested; `slug` is the task's workspace's, for the link
// into the web UI. A request's subject names the approval, so the outbox puts magic
// links in its email and Slack messages.
NotificationRecord TaskNotification(const HumanTaskRecord& task, std::string_view kind,
                                    const std::string& slug, std::string id, int64_t now);

// A change of one task: `change` decides the task's next state from the task as read
// (nullopt: nothing to change; an error refuses). Optional: the magic link the change
// uses, and the audit entry committed with it.
struct HumanTaskChange {
  std::string task_id;
  std::function<Result<std::optional<HumanTaskRecord>>(const HumanTaskRecord& before)> change;
  std::optional<std::string> use_link_hash;
  std::function<AuditEntry(const HumanTaskRecord& before, const HumanTaskRecord& after)> audit;
};

}  // namespace sw
