// ControlServiceTest: the fixture of the control layer's tests. A real SqliteStore in a
// temporary directory, an Engine on a ManualClock that never moves unless a test moves
// it, a FakeHttpClient the test completes by hand, and a ControlService with an admin
// of the workspace "acme". Helpers wait (bounded) for what the engine's threads do.
//
// Not thread-safe: each test uses its fixture from its own thread, except where a test
// says otherwise.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/service.h"
#include "engine/engine.h"
#include "engine/process_runner.h"
#include "store/sqlite/sqlite_store.h"
// The fakes live beside the engine's tests (tests/engine/, on the include path).
#include "fake_http_client.h"
#include "wait_until.h"

namespace sw::test {

using nlohmann::json;

inline constexpr int64_t kStartMs = 1'700'000'000'000;
inline constexpr char kSlowUrl[] = "https://api.example.test/slow";

inline json Noop(const std::string& id, json value) {
  return {{"id", id}, {"type", "noop"}, {"with", {{"value", std::move(value)}}}};
}
inline json Http(const std::string& id, const std::string& url) {
  return {{"id", id}, {"type", "http"}, {"with", {{"url", url}}}};
}
inline json WaitForEvent(const std::string& id, const std::string& event_type) {
  return {{"id", id}, {"type", "wait_for_event"}, {"with", {{"event_type", event_type}}}};
}

class ControlServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sw_control_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(dir_);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(opened).value();
    engine_ = std::make_unique<Engine>(*store_, clock_, http_, *processes_, ids_, EngineOptions{});
    control_ = std::make_unique<ControlService>(*store_, *engine_, clock_, ids_);
    Status started = engine_->Start();
    ASSERT_TRUE(started.ok()) << started.message();
    ctx_ = Workspace("acme");
  }

  // Stops in serve's order: the engine, then the store (its queued callbacks reach a
  // live engine), then the engine goes.
  void TearDown() override {
    control_.reset();
    if (engine_) {
      engine_->Stop();
    }
    store_.reset();
    engine_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A new workspace and a request context of its admin.
  RequestContext Workspace(const std::string& slug) {
    Result<CreatedToken> admin = CreateWorkspace(*store_, ids_, clock_, slug, "");
    EXPECT_TRUE(admin.ok()) << admin.status().message();
    RequestContext ctx;
    if (admin.ok()) {
      ctx.principal =
          Principal{admin->record.workspace_id, admin->record.id, "admin", Role::kAdmin};
    }
    ctx.request_id = "req-" + slug;
    return ctx;
  }

  void Apply(const std::string& workflow_id, json steps, const std::string& kind = "workflow") {
    json body = {{"steps", std::move(steps)}, {"kind", kind}};
    Result<PutWorkflowResult> applied = control_->ApplyWorkflow(ctx_, workflow_id, body);
    ASSERT_TRUE(applied.ok()) << applied.status().message() << " " << applied.status().extra();
  }

  Result<CreateRunResult> TryStart(const std::string& workflow_id, json input = json::object(),
                                   std::optional<std::string> key = std::nullopt) {
    StartRunRequest request;
    request.workflow_id = workflow_id;
    request.input = std::move(input);
    request.idempotency_key = std::move(key);
    std::promise<Result<CreateRunResult>> answer;
    control_->StartRun(ctx_, request,
                       [&answer](Result<CreateRunResult> r) { answer.set_value(std::move(r)); });
    return answer.get_future().get();
  }

  std::string Start(const std::string& workflow_id, json input = json::object()) {
    Result<CreateRunResult> created = TryStart(workflow_id, std::move(input));
    EXPECT_TRUE(created.ok()) << created.status().message();
    return created.ok() ? created->run.id : "";
  }

  RunRecord Run(const std::string& run_id) {
    Result<RunRecord> run = store_->GetRun(run_id, /*with_steps=*/false);
    EXPECT_TRUE(run.ok()) << run.status().message();
    return run.ok() ? *run : RunRecord{};
  }

  bool WaitStatus(const std::string& run_id, RunStatus status) {
    bool reached = WaitUntil([&] {
      Result<RunRecord> run = store_->GetRun(run_id, false);
      return run.ok() && run->status == status;
    });
    EXPECT_TRUE(reached) << run_id << " is " << ToString(Run(run_id).status) << ", not "
                         << ToString(status);
    return reached;
  }

  // A run of a workflow that waits for the event "go", once it waits.
  std::string WaitingRun() {
    Apply("gate", json::array({WaitForEvent("wait", "go"), Noop("after", "done")}));
    const std::string id = Start("gate");
    WaitStatus(id, RunStatus::kWaiting);
    return id;
  }

  // A run whose http step is in flight (the fake holds it until told), once it runs.
  std::string RunningRun() {
    Apply("slow",
          json::array({Http("call", kSlowUrl), WaitForEvent("wait", "go"), Noop("after", "done")}));
    const std::string id = Start("slow");
    WaitRequest(kSlowUrl);
    WaitStatus(id, RunStatus::kRunning);
    return id;
  }

  // A run that completed.
  std::string CompletedRun() {
    Apply("quick", json::array({Noop("a", json{{"x", 1}})}));
    const std::string id = Start("quick", json{{"n", 7}});
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

  // The index of the request to `url` in flight, once it was sent.
  std::optional<size_t> WaitRequest(const std::string& url) {
    std::optional<size_t> index;
    WaitUntil([&] {
      index = http_.InFlight(url);
      return index.has_value();
    });
    EXPECT_TRUE(index.has_value()) << "no request to " << url;
    return index;
  }

  size_t RunCount() {
    Result<RunPage> runs = control_->ListRuns(ctx_, RunFilter{});
    EXPECT_TRUE(runs.ok()) << runs.status().message();
    return runs.ok() ? runs->items.size() : 0;
  }

  Result<json> Invoke(const std::string& workflow_id, json input = json::object()) {
    return control_->Invoke(ctx_, workflow_id, input);
  }

  std::string dir_;
  ManualClock clock_{kStartMs};
  IdSource ids_{clock_};
  FakeHttpClient http_;  // outlives the engine that sends through it
  std::unique_ptr<ProcessRunner> processes_ = MakeProcessRunner();
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<ControlService> control_;
  RequestContext ctx_;
};

}  // namespace sw::test
