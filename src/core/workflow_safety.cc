#include "core/workflow_safety.h"

namespace sw {

namespace {

const char* MessageOf(std::string_view reason) {
  return reason == kSpendCapReason ? kSpendCapMessage : kThroughputCapMessage;
}

}  // namespace

nlohmann::json SafetyObject(std::string_view reason, const std::string& tripped_at) {
  return {{"reason", reason}, {"message", MessageOf(reason)}, {"tripped_at", tripped_at}};
}

nlohmann::json RunWorkflowSafety(std::string_view reason) {
  if (reason.empty()) {
    return nullptr;
  }
  return {{"reason", reason}, {"message", MessageOf(reason)}};
}

void DispatchWindow::Forget(int64_t now) {
  while (!times_.empty() && times_.front() <= now - kThroughputWindowMs) {
    times_.pop_front();
  }
}

bool DispatchWindow::Fits(int64_t now, int64_t limit) {
  Forget(now);
  return static_cast<int64_t>(times_.size()) < limit;
}

int64_t DispatchWindow::Count(int64_t now) {
  Forget(now);
  return static_cast<int64_t>(times_.size());
}

}  // namespace sw
