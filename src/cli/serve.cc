#include "cli/serve.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include "api/api.h"
#include "api/http_server.h"
#include "control/access.h"
#include "control/agent_tasks.h"
#include "control/definitions.h"
#include "control/fake_clock.h"
#include "control/metrics.h"
#include "control/run_watch.h"
#include "control/script_invoker.h"
#include "control/service.h"
#include "engine/agent_queue.h"
#include "engine/engine.h"
#include "engine/http_client.h"
#include "engine/id_source.h"
#include "engine/process_runner.h"
#include "store/sqlite/sqlite_store.h"

namespace sw::cli {

namespace {

struct ServeOptions {
  std::string data_dir = "./stepwell-data";
  std::string listen = "127.0.0.1:8420";
  bool allow_shell = false;
  bool allow_private_targets = false;
  bool fake_clock = false;
  // A request that waits for a commit (a control, a token) holds its thread, and the
  // connections dealt to that thread wait with it: enough threads that a burst of such
  // requests overlaps in one group commit. Idle threads cost nothing.
  int http_threads = 32;
  int workers = 4;
  // The web UI's production build; by default the source tree's web/dist.
  std::string ui_dir = STEPWELL_DEFAULT_UI_DIR;
};

// Writes `text` to `path` through a temporary file and a rename, with `mode`.
bool WriteFileAtomically(const std::string& path, const std::string& text, mode_t mode) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) {
      return false;
    }
    out << text;
  }
  ::chmod(tmp.c_str(), mode);
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

// Set while serving; the signal thread stops it.
std::atomic<HttpServer*> g_server{nullptr};

int Serve(const ServeOptions& opt) {
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(opt.data_dir);
  if (!opened.ok()) {
    std::cerr << "error: " << opened.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<SqliteStore> store = std::move(opened).value();
  // Set before any write: the writer reads the listener after each commit.
  // Signals between the parts that wait for one another (runs changed, tasks queued);
  // in memory for the one process on the embedded store.
  LocalNotifier notifier;
  RunWatch watch(&notifier);
  store->SetChangeListener(
      [&watch](const std::vector<std::string>& ids_changed) { watch.Notify(ids_changed); });
  SystemClock system_clock;
  std::unique_ptr<ManualClock> manual_clock;
  const Clock* clock = &system_clock;
  if (opt.fake_clock) {
    manual_clock = std::make_unique<ManualClock>(system_clock.NowMs());
    clock = manual_clock.get();
    spdlog::warn("fake clock: time moves only through POST /api/v1/testing/clock/advance");
  }
  IdSource ids(*clock);

  if (!store->FindWorkspaceBySlug("default").ok()) {
    const char* env = std::getenv("STEPWELL_ADMIN_TOKEN");
    Result<CreatedToken> admin =
        CreateWorkspace(*store, ids, *clock, "default", env != nullptr ? env : "");
    if (!admin.ok()) {
      std::cerr << "error: " << admin.status().message() << "\n";
      return 1;
    }
    const std::string token_path = opt.data_dir + "/admin-token";
    WriteFileAtomically(token_path, admin->secret + "\n", 0600);
    std::cout << "Created workspace 'default'. Admin token (shown once, also in " << token_path
              << "):\n  " << admin->secret << std::endl;
  }

  std::unique_ptr<HttpClient> http = MakeBeastHttpClient(opt.allow_private_targets, 2);
  std::unique_ptr<ProcessRunner> processes = MakeProcessRunner();
  EngineOptions engine_options;
  engine_options.workers = opt.workers;
  engine_options.allow_shell = opt.allow_shell;
  Engine engine(*store, *clock, *http, *processes, ids, engine_options);
  ControlService control(*store, engine, *clock, ids);
  AgentQueue agents(*store, engine, *clock, AgentQueueOptions{}, &notifier);
  engine.SetTaskListener([&agents](const std::string& workspace_id, const std::string& queue) {
    agents.Notify(workspace_id, queue);
  });
  AccessService access(*store, control, *clock);
  AgentTasks agent_tasks(agents);
  HumanTasks human_tasks(*store, engine, *clock, ids);
  DefinitionReader definitions(*store, engine);
  ScriptInvoker scripts(control);
  ServerMetrics metrics(*store, engine);
  std::optional<FakeClockControl> fake_clock;
  if (manual_clock) {
    fake_clock.emplace(*manual_clock, engine);
  }
  ApiOptions api_options;
  api_options.ui_dir = opt.ui_dir;
  Api api(ApiServices{control, access, agent_tasks, human_tasks, definitions, scripts, metrics,
                      watch, fake_clock ? &*fake_clock : nullptr},
          api_options);
  Result<std::unique_ptr<HttpServer>> server = MakeHttpServer(
      opt.listen, [&api](std::shared_ptr<Exchange> ex) { api.Handle(std::move(ex)); },
      opt.http_threads, ApiOptions{}.max_body_bytes);
  if (!server.ok()) {
    std::cerr << "error: " << server.status().message() << "\n";
    return 1;
  }
  api.SetServer(server->get());
  if (Status s = engine.Start(); !s.ok()) {
    std::cerr << "error: " << s.message() << "\n";
    return 1;
  }
  agents.Start();
  const std::string address = (*server)->address();
  WriteFileAtomically(opt.data_dir + "/listen-address", address + "\n", 0644);
  spdlog::info("stepwell listening on http://{} (data in {}{}{})", address, opt.data_dir,
               opt.allow_private_targets ? ", private targets allowed" : "",
               opt.allow_shell ? ", shell allowed" : "");
  std::cout << "Listening on http://" << address << std::endl;

  HttpServer* raw_server = server->get();
  g_server.store(raw_server);
  (*server)->Run();
  g_server.store(nullptr);
  spdlog::info("stopping");
  // Stop in dependency order: the engine first (its pool drops late callbacks), then
  // the HTTP client (requests in flight answer "shutting down"), then the script
  // invocations (their http steps have just ended), then the store (its writer drains
  // and completes queued changes) — all while the engine still exists.
  agents.Stop();
  engine.Stop();
  processes.reset();
  http.reset();
  scripts.Stop();
  store.reset();
  return 0;
}

int CreateWorkspaceCommand(const std::string& data_dir, const std::string& slug) {
  Result<std::unique_ptr<SqliteStore>> opened = SqliteStore::Open(data_dir);
  if (!opened.ok()) {
    std::cerr << "error: " << opened.status().message() << "\n";
    return 1;
  }
  SystemClock clock;
  IdSource ids(clock);
  Result<CreatedToken> created = CreateWorkspace(**opened, ids, clock, slug, "");
  if (!created.ok()) {
    std::cerr << "error: " << created.status().message() << "\n";
    return 1;
  }
  std::cout << created->secret << std::endl;
  return 0;
}

}  // namespace

void AddServerCommands(CLI::App& app) {
  auto opt = std::make_shared<ServeOptions>();
  CLI::App* serve = app.add_subcommand("serve", "Run the Stepwell server");
  serve->add_option("--data-dir", opt->data_dir, "Where the SQLite store lives");
  serve->add_option("--listen", opt->listen, "HOST:PORT to listen on (port 0 picks one)");
  serve->add_flag("--allow-shell", opt->allow_shell, "Allow shell steps");
  serve->add_flag("--allow-private-targets", opt->allow_private_targets,
                  "Allow http steps to reach loopback and private addresses");
  serve->add_flag("--fake-clock", opt->fake_clock,
                  "Tests only: time moves only through the testing API");
  serve->add_option("--http-threads", opt->http_threads, "HTTP I/O threads")
      ->check(CLI::Range(1, 64));
  serve->add_option("--ui-dir", opt->ui_dir, "The web UI's build to serve (web/dist)");
  serve->add_option("--workers", opt->workers, "Engine worker threads")->check(CLI::Range(1, 64));
  serve->callback([opt] {
    // SIGINT/SIGTERM stop the server cleanly; a thread waits for them.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread([set] {
      int sig = 0;
      sigwait(&set, &sig);
      if (HttpServer* server = g_server.load()) {
        server->Stop();
      }
    }).detach();
    int code = Serve(*opt);
    if (code != 0) {
      throw CLI::RuntimeError(code);
    }
  });

  auto ws_dir = std::make_shared<std::string>("./stepwell-data");
  auto ws_slug = std::make_shared<std::string>();
  CLI::App* workspaces = app.add_subcommand("workspaces", "Manage workspaces");
  workspaces->require_subcommand(1);
  CLI::App* create = workspaces->add_subcommand("create", "Create a workspace (offline)");
  create->add_option("SLUG", *ws_slug, "Workspace slug")->required();
  create->add_option("--data-dir", *ws_dir, "Where the SQLite store lives");
  create->callback([ws_dir, ws_slug] {
    int code = CreateWorkspaceCommand(*ws_dir, *ws_slug);
    if (code != 0) {
      throw CLI::RuntimeError(code);
    }
  });
}

}  // namespace sw::cli
