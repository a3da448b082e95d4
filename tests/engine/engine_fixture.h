// EngineFixture: the fixture of the tests that drive the Engine through ControlService
// over a real store. A SqliteStore in a temporary directory, an Engine on a ManualClock
// that never moves unless a test moves it, a FakeHttpClient the test completes by hand,
// a ControlService, and an admin of the workspace "acme" (ctx_, in workspace ws_).
// Helpers wait (bounded, test::WaitUntil) for what the engine's threads do.
//
// A fixture that wires more onto the engine overrides BeforeEngineStart (called by
// Open, once the engine and control exist and before the engine starts); a
// parameterized one adds ::testing::WithParamInterface<T>. Close and Open again is a
// restart of the process on the same directory.
//
// Not thread-safe: each test uses its fixture from its own thread, except where a test
// says otherwise.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "control/service.h"
#include "engine/engine.h"
#include "engine/process_runner.h"
#include "fake_http_client.h"
#include "store/sqlite/sqlite_store.h"
#include "wait_until.h"

namespace sw::test {

inline constexpr int64_t kStartMs = 1'700'000'000'000;  // 2023-11-14, mid-period

inline nlohmann::json Noop(const std::string& id, nlohmann::json value) {
  return {{"id", id}, {"type", "noop"}, {"with", {{"value", std::move(value)}}}};
}
inline nlohmann::json Http(const std::string& id, const std::string& url) {
  return {{"id", id}, {"type", "http"}, {"with", {{"url", url}}}};
}
// A wait for `event_type`, with a `timeout` unless it is empty.
inline nlohmann::json WaitForEvent(const std::string& id, const std::string& event_type,
                                   const std::string& timeout = "") {
  nlohmann::json with = {{"event_type", event_type}};
  if (!timeout.empty()) {
    with["timeout"] = timeout;
  }
  return {{"id", id}, {"type", "wait_for_event"}, {"with", with}};
}

// The row of the step at `path`, or null.
inline const StepRecord* FindStep(const RunRecord& run, const std::string& path) {
  for (const StepRecord& s : run.steps) {
    if (s.path == path) {
      return &s;
    }
  }
  return nullptr;
}

class EngineFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sw_engine_XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    Open();
    if (HasFatalFailure()) {
      return;
    }
    ctx_ = Workspace("acme");
    ws_ = ctx_.principal.workspace_id;
  }

  void TearDown() override {
    Close();
    std::filesystem::remove_all(dir_);
  }

  // Wires what the engine needs beyond the store and the clock before it starts.
  virtual void BeforeEngineStart() {}

  // Opens the store in dir_ and starts an engine on it (which re-drives what was
  // pending or running).
  void Open() {
    Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(dir_);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(opened).value();
    engine_ = std::make_unique<Engine>(*store_, clock_, http_, *processes_, ids_, EngineOptions{});
    control_ = std::make_unique<ControlService>(*store_, *engine_, clock_, ids_);
    BeforeEngineStart();
    Status started = engine_->Start();
    ASSERT_TRUE(started.ok()) << started.message();
  }

  // The process stops, in serve's order: the engine stops (abandoning its work in
  // flight), the store drains and closes while the engine still exists (a queued
  // commit's callback reaches a live engine), then the engine goes.
  void Close() {
    control_.reset();
    if (engine_) {
      engine_->Stop();
    }
    store_.reset();
    engine_.reset();
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

  void Apply(const std::string& workflow_id, nlohmann::json steps,
             const std::string& kind = "workflow") {
    nlohmann::json body = {{"steps", std::move(steps)}, {"kind", kind}};
    Result<PutWorkflowResult> applied = control_->ApplyWorkflow(ctx_, workflow_id, body);
    ASSERT_TRUE(applied.ok()) << applied.status().message() << " " << applied.status().reason();
  }

  Result<CreateRunResult> TryStart(const std::string& workflow_id,
                                   nlohmann::json input = nlohmann::json::object(),
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

  // The id of a new run ("" and a failed test when it was refused).
  std::string StartRun(const std::string& workflow_id,
                       nlohmann::json input = nlohmann::json::object()) {
    Result<CreateRunResult> created = TryStart(workflow_id, std::move(input));
    EXPECT_TRUE(created.ok()) << created.status().message();
    return created.ok() ? created->run.id : "";
  }

  // The run with its steps.
  RunRecord Run(const std::string& run_id) {
    Result<RunRecord> run = store_->GetRun(run_id, /*with_steps=*/true);
    EXPECT_TRUE(run.ok()) << run.status().message();
    return run.ok() ? *run : RunRecord{};
  }

  bool WaitStatus(const std::string& run_id, RunStatus status) {
    const bool reached = WaitUntil([&] {
      Result<RunRecord> run = store_->GetRun(run_id, false);
      return run.ok() && run->status == status;
    });
    EXPECT_TRUE(reached) << run_id << " is " << ToString(Run(run_id).status) << ", not "
                         << ToString(status);
    return reached;
  }

  bool WaitStep(const std::string& run_id, const std::string& path,
                const std::function<bool(const StepRecord&)>& pred) {
    return WaitUntil([&] {
      Result<RunRecord> run = store_->GetRun(run_id, true);
      const StepRecord* step = run.ok() ? FindStep(*run, path) : nullptr;
      return step != nullptr && pred(*step);
    });
  }

  // The index of the request to `url` in flight, once the engine sent it.
  std::optional<size_t> WaitRequest(const std::string& url) {
    std::optional<size_t> index;
    WaitUntil([&] {
      index = http_.InFlight(url);
      return index.has_value();
    });
    EXPECT_TRUE(index.has_value()) << "no request to " << url;
    return index;
  }

  // The engine holds no run: everything it was doing is committed.
  bool WaitIdle() {
    const bool idle = WaitUntil([&] { return engine_->ActiveRuns() == 0; });
    EXPECT_TRUE(idle) << engine_->ActiveRuns() << " runs still active";
    return idle;
  }

  std::string dir_;
  ManualClock clock_{kStartMs};
  IdSource ids_{clock_};
  FakeHttpClient http_;  // outlives every engine that sends through it
  std::unique_ptr<ProcessRunner> processes_ = MakeProcessRunner();
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<ControlService> control_;
  RequestContext ctx_;
  std::string ws_;
};

}  // namespace sw::test
