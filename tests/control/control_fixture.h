// ControlServiceTest: the fixture of the control layer's tests, the engine's fixture
// (engine_fixture.h: a real SqliteStore in a temporary directory, an Engine on a
// ManualClock, a FakeHttpClient the test completes by hand, a ControlService with an
// admin of the workspace "acme") and runs in the states the control tests start from.
//
// Not thread-safe: each test uses its fixture from its own thread, except where a test
// says otherwise.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

// The fixture and fakes live beside the engine's tests (tests/engine/, on the include
// path).
#include "engine_fixture.h"

namespace sw::test {

using nlohmann::json;

inline constexpr char kSlowUrl[] = "https://api.example.test/slow";

class ControlServiceTest : public EngineFixture {
 protected:
  // A run of a workflow that waits for the event "go", once it waits.
  std::string WaitingRun() {
    Apply("gate", json::array({WaitForEvent("wait", "go"), Noop("after", "done")}));
    const std::string id = StartRun("gate");
    WaitStatus(id, RunStatus::kWaiting);
    return id;
  }

  // A run whose http step is in flight (the fake holds it until told), once it runs.
  std::string RunningRun() {
    Apply("slow",
          json::array({Http("call", kSlowUrl), WaitForEvent("wait", "go"), Noop("after", "done")}));
    const std::string id = StartRun("slow");
    WaitRequest(kSlowUrl);
    WaitStatus(id, RunStatus::kRunning);
    return id;
  }

  // A run that completed.
  std::string CompletedRun() {
    Apply("quick", json::array({Noop("a", json{{"x", 1}})}));
    const std::string id = StartRun("quick", json{{"n", 7}});
    WaitStatus(id, RunStatus::kCompleted);
    return id;
  }

  Result<RunRecord> Control(const std::string& run_id, RunAction action,
                            std::optional<int64_t> expected_version = std::nullopt,
                            std::optional<RunStatus> expected_status = std::nullopt) {
    ControlRequest request;
    request.action = action;
    request.expected_version = expected_version;
    request.expected_status = expected_status;
    return control_->Control(ctx_, run_id, request);
  }

  std::vector<AuditEntry> AuditOf(const std::string& target) {
    Result<std::vector<AuditEntry>> entries = control_->ListAudit(ctx_, target, "", 100);
    EXPECT_TRUE(entries.ok()) << entries.status().message();
    return entries.ok() ? *entries : std::vector<AuditEntry>{};
  }

  size_t RunCount() {
    Result<RunPage> runs = control_->ListRuns(ctx_, RunFilter{});
    EXPECT_TRUE(runs.ok()) << runs.status().message();
    return runs.ok() ? runs->items.size() : 0;
  }

  Result<json> Invoke(const std::string& workflow_id, json input = json::object()) {
    return control_->Invoke(ctx_, workflow_id, input);
  }
};

}  // namespace sw::test
