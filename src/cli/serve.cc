#include "cli/serve.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>
#include <tuple>

#include "api/api.h"
#include "api/http_server.h"
#include "cli/files.h"
#include "cli/log_format.h"
#include "cli/open_store.h"
#include "cli/peers.h"
#include "control/access.h"
#include "control/agent_tasks.h"
#include "control/bulk_operations.h"
#include "control/definitions.h"
#include "control/fake_clock.h"
#include "control/metrics.h"
#include "control/notifications.h"
#include "control/run_watch.h"
#include "control/schedules.h"
#include "control/script_invoker.h"
#include "control/service.h"
#include "core/duration.h"
#include "core/workflow_safety.h"
#include "engine/agent_queue.h"
#include "engine/engine.h"
#include "engine/http_client.h"
#include "engine/id_source.h"
#include "engine/notification_outbox.h"
#include "engine/process_records.h"
#include "engine/process_runner.h"
#include "engine/retention_sweeper.h"
#include "engine/smtp_client.h"
#include "store/postgres/pg_instance.h"
#include "store/postgres/pg_notifier.h"

namespace sw::cli {

namespace {

struct ServeOptions {
  std::string data_dir = "./stepwell-data";
  // Empty: SQLite in data_dir; else a PostgreSQL database's URL.
  std::string store;
  std::string listen = "127.0.0.1:8420";
  bool allow_shell = false;
  bool allow_private_targets = false;
  int64_t max_steps_per_minute = 6000;
  int64_t max_runs_per_minute = 0;  // 0: no limit
  bool fake_clock = false;
  LogFormat log_format = LogFormat::kText;
  // Starts, controls and long-polls answer from a commit's completion without holding
  // their thread, so a few threads serve many connections; more of them only add
  // context switches on a small machine (docs/performance.md, "Stop 34"). A change
  // that waits for its commit (an event, a decision, a token) holds its I/O thread only
  // on an idle store, for one fsync; else it waits on the API's pool (Api::Run).
  int http_threads = 4;
  int workers = 4;
  // The web UI's production build; by default the source tree's web/dist.
  std::string ui_dir = STEPWELL_DEFAULT_UI_DIR;
  // Email notifications: the SMTP server and the sender; none without --smtp-url.
  std::string smtp_url;
  std::string smtp_from;
  bool smtp_starttls = false;
  // What links in notifications start with; by default http://<listen address>.
  std::string public_url;
  // Open connections at most; 0: as many as the descriptor limit leaves room for.
  size_t max_connections = 0;
  std::string header_timeout = "10s";
  std::string idle_timeout = "60s";
  // How shell steps' processes are contained: auto, cgroup or subreaper.
  std::string shell_containment = "auto";
  // Where the metrics token is read from (else STEPWELL_METRICS_TOKEN); --public-metrics
  // serves /metrics without one.
  std::string metrics_token_file;
  bool public_metrics = false;
};

// Who may read /metrics: the token of --metrics-token-file (its first line), else of
// STEPWELL_METRICS_TOKEN; anyone with --public-metrics.
Result<MetricsAccess> LoadMetricsAccess(const ServeOptions& opt) {
  MetricsAccess access;
  access.public_access = opt.public_metrics;
  if (!opt.metrics_token_file.empty()) {
    std::ifstream in(opt.metrics_token_file);
    if (!in || !std::getline(in, access.token)) {
      return InvalidArgument("--metrics-token-file: cannot read " + opt.metrics_token_file);
    }
    while (!access.token.empty() && std::isspace(static_cast<unsigned char>(access.token.back()))) {
      access.token.pop_back();
    }
    if (access.token.empty()) {
      return InvalidArgument("--metrics-token-file: " + opt.metrics_token_file +
                             " holds no token on its first line");
    }
  } else if (const char* env = std::getenv("STEPWELL_METRICS_TOKEN"); env != nullptr) {
    access.token = env;
  }
  if (access.public_access) {
    spdlog::warn("--public-metrics: GET /metrics answers anyone, without a token");
  } else if (access.token.empty()) {
    spdlog::warn(
        "GET /metrics is closed (401/403 to everyone): set STEPWELL_METRICS_TOKEN or "
        "--metrics-token-file FILE to read it with that bearer token, or --public-metrics");
  }
  return access;
}

// The shell steps' process runner, once what a crashed server left running is ended.
// Attempt records live in DATA_DIR/processes.
Result<std::unique_ptr<ProcessRunner>> StartProcessRunner(const ServeOptions& opt) {
  const std::string record_dir = opt.data_dir + "/processes";
  if (Status s = CreateRecordDir(record_dir); !s.ok()) {
    return s;
  }
  Result<LeftoverAttempts> leftovers = KillLeftoverAttempts(record_dir);
  if (!leftovers.ok()) {
    return leftovers.status();
  }
  if (leftovers->running > 0) {
    spdlog::warn("killed what {} shell step attempt(s) of an earlier server left running",
                 leftovers->running);
  }
  ProcessRunnerOptions options;
  options.record_dir = record_dir;
  if (!opt.allow_shell || opt.shell_containment == "subreaper") {
    options.containment = ProcessContainment::kSubreaper;
  } else if (opt.shell_containment == "cgroup") {
    options.containment = ProcessContainment::kCgroup;
  }
  Result<std::unique_ptr<ProcessRunner>> runner = MakeProcessRunner(options);
  if (runner.ok() && opt.allow_shell) {
    const bool cgroup = (*runner)->containment() == ProcessContainment::kCgroup;
    spdlog::info("shell steps run under a keeper each{} ({})", cgroup ? ", in a cgroup each" : "",
                 (*runner)->containment_note());
  }
  return runner;
}

// The HTTP server's options from the command line's.
Result<HttpServerOptions> MakeHttpServerOptions(const ServeOptions& opt) {
  HttpServerOptions http;
  http.threads = opt.http_threads;
  http.max_body_bytes = ApiOptions{}.max_body_bytes;
  http.max_connections = opt.max_connections;
  for (auto [flag, text, out] :
       {std::tuple{"--header-timeout", &opt.header_timeout, &http.header_timeout},
        std::tuple{"--idle-timeout", &opt.idle_timeout, &http.idle_timeout}}) {
    Result<std::chrono::milliseconds> d = ParseDuration(*text);
    if (!d.ok() || d->count() == 0) {
      return InvalidArgument(std::string(flag) + " must be a duration above 0 such as 10s, got '" +
                             *text + "'");
    }
    *out = *d;
  }
  return http;
}

// The SMTP client `opt` asks for: null without --smtp-url.
Result<std::unique_ptr<SmtpClient>> MakeSmtpClient(const ServeOptions& opt) {
  if (opt.smtp_url.empty()) {
    return std::unique_ptr<SmtpClient>();
  }
  if (opt.smtp_from.empty()) {
    return InvalidArgument("--smtp-url needs --smtp-from (the sender of notification emails)");
  }
  SmtpOptions smtp;
  smtp.url = opt.smtp_url;
  smtp.require_starttls = opt.smtp_starttls;
  return MakeCurlSmtpClient(std::move(smtp));
}

// What instances sharing a PostgreSQL store share besides it: signals between them
// (LISTEN/NOTIFY) and who drives which run (leases). On the embedded store, signals
// stay in memory and every run is this process's.
struct Cluster {
  std::unique_ptr<Notifier> notifier;
  PgNotifier* pg_notifier = nullptr;     // set on PostgreSQL
  std::unique_ptr<PgInstance> instance;  // set on PostgreSQL
};

// `clock` is the real one even with --fake-clock: heartbeats and the leases they renew
// are between processes, and a test moving its clock by an hour must not make every
// other instance look dead.
Result<Cluster> JoinCluster(const ServeOptions& opt, const Clock& clock) {
  Cluster cluster;
  if (opt.store.empty()) {
    cluster.notifier = std::make_unique<LocalNotifier>();
    return cluster;
  }
  // The id is the data directory's, kept across restarts: an instance killed and
  // started again takes its runs back at once instead of waiting for its leases to lapse.
  PgInstance::Options options;
  const std::string id_file = opt.data_dir + "/instance-id";
  std::ifstream in(id_file);
  std::getline(in, options.id);
  if (options.id.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof(host) - 1);
    options.id = "ins_" + std::string(host) + "_" + std::to_string(::getpid()) + "_" +
                 std::to_string(clock.NowMs());
    if (Status s = WriteFileAtomically(id_file, options.id + "\n", 0600); !s.ok()) {
      return s;
    }
  }
  Result<std::unique_ptr<PgInstance>> instance =
      PgInstance::Register(opt.store, options, [&clock] { return clock.NowMs(); });
  if (!instance.ok()) {
    return instance.status();
  }
  Result<std::unique_ptr<PgNotifier>> notifier = PgNotifier::Start(opt.store, options.id);
  if (!notifier.ok()) {
    return notifier.status();
  }
  cluster.instance = std::move(instance).value();
  cluster.pg_notifier = notifier->get();
  cluster.notifier = std::move(notifier).value();
  return cluster;
}

// Set while serving; the signal thread stops it.
std::atomic<HttpServer*> g_server{nullptr};

int Serve(const ServeOptions& opt) {
  UseServerLogFormat(opt.log_format);
  Result<HttpServerOptions> http_options = MakeHttpServerOptions(opt);
  if (!http_options.ok()) {
    std::cerr << "error: " << http_options.status().message() << "\n";
    return 1;
  }
  Result<MetricsAccess> metrics_access = LoadMetricsAccess(opt);
  if (!metrics_access.ok()) {
    std::cerr << "error: " << metrics_access.status().message() << "\n";
    return 1;
  }
  Result<std::unique_ptr<Store>> opened = OpenStore(opt.data_dir, opt.store);
  if (!opened.ok()) {
    std::cerr << "error: " << opened.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<Store> store = std::move(opened).value();
  SystemClock system_clock;
  std::unique_ptr<ManualClock> manual_clock;
  const Clock* clock = &system_clock;
  if (opt.fake_clock) {
    manual_clock = std::make_unique<ManualClock>(system_clock.NowMs());
    clock = manual_clock.get();
    spdlog::warn("fake clock: time moves only through POST /api/v1/testing/clock/advance");
  }
  Result<Cluster> joined = JoinCluster(opt, system_clock);
  if (!joined.ok()) {
    std::cerr << "error: " << joined.status().message() << "\n";
    return 1;
  }
  Cluster cluster = std::move(joined).value();
  if (cluster.instance) {
    store->SetInstance(cluster.instance->self());
  }
  // Set before any write: the writer reads the listener after each commit.
  // Signals between the parts that wait for one another (runs changed, tasks queued).
  Notifier& notifier = *cluster.notifier;
  RunWatch watch(&notifier);
  store->SetChangeListener(
      [&watch](const std::vector<std::string>& ids_changed) { watch.Notify(ids_changed); });
  // Made once the listen address is known (its links start with it); until then a
  // commit that queues deliveries has nobody to tell, and the outbox's first look finds
  // them.
  std::atomic<NotificationOutbox*> outbox_ptr{nullptr};
  auto wake_outbox = [&outbox_ptr] {
    if (NotificationOutbox* outbox = outbox_ptr.load()) {
      outbox->Poke();
    }
  };
  store->SetOutboxListener(wake_outbox);
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
    if (Status written = WriteFileAtomically(token_path, admin->secret + "\n", 0600);
        !written.ok()) {
      // The workspace exists: this is the only place its admin token is shown.
      std::cerr << "error: " << written.message() << "\nThe admin token of workspace "
                << "'default' (not saved):\n  " << admin->secret << std::endl;
      return 1;
    }
    std::cout << "Created workspace 'default'. Admin token (shown once, also in " << token_path
              << "):\n  " << admin->secret << std::endl;
  }

  std::unique_ptr<HttpClient> http = MakeBeastHttpClient(opt.allow_private_targets, 2);
  Result<std::unique_ptr<SmtpClient>> smtp = MakeSmtpClient(opt);
  if (!smtp.ok()) {
    std::cerr << "error: " << smtp.status().message() << "\n";
    return 1;
  }
  Result<std::unique_ptr<ProcessRunner>> made_processes = StartProcessRunner(opt);
  if (!made_processes.ok()) {
    std::cerr << "error: " << made_processes.status().message() << "\n";
    return 1;
  }
  std::unique_ptr<ProcessRunner> processes = std::move(made_processes).value();
  EngineOptions engine_options;
  engine_options.workers = opt.workers;
  engine_options.allow_shell = opt.allow_shell;
  engine_options.max_steps_per_minute = opt.max_steps_per_minute;
  engine_options.max_runs_per_minute = opt.max_runs_per_minute;
  engine_options.drive_all_on_start = cluster.instance == nullptr;
  Engine engine(*store, *clock, *http, *processes, ids, engine_options);
  if (cluster.pg_notifier != nullptr) {
    engine.SetPeers(&notifier);
  }
  ControlService control(*store, engine, *clock, ids);
  RetentionSweeper retention(*store, *clock);  // stopped before the store goes
  control.SetRetentionListener([&retention] { retention.Poke(); });
  AgentQueue agents(*store, engine, *clock, AgentQueueOptions{}, &notifier);
  engine.SetTaskListener([&agents](const std::string& workspace_id, const std::string& queue) {
    agents.Notify(workspace_id, queue);
  });
  AccessService access(*store, control, *clock);
  AgentTasks agent_tasks(agents);
  HumanTasks human_tasks(*store, engine, *clock, ids);
  DefinitionReader definitions(*store, engine);
  ScriptInvoker scripts(control);
  ServerMetrics metrics(*store, engine, std::move(metrics_access).value());
  NotificationService notifications(*store, *clock, ids);
  Connections connections(*store, engine, *clock, ids);
  Schedules schedules(*store, engine, control, *clock, ids);
  // Every store the server opens is an SQL store, which keeps bulk operations too.
  auto* operations = dynamic_cast<OperationStore*>(store.get());
  SW_CHECK(operations != nullptr);
  BulkOperations bulk(*store, *operations, control, *clock, ids);
  std::optional<FakeClockControl> fake_clock;
  if (manual_clock) {
    // An advance wakes the outbox (its back-offs), the scheduler (ticks come due) and the
    // retention sweep (runs age).
    auto wake_on_advance = [&wake_outbox, &schedules, &retention] {
      wake_outbox();
      schedules.Poke();
      retention.Poke();
    };
    fake_clock.emplace(*manual_clock, engine, wake_on_advance,
                       cluster.pg_notifier != nullptr ? &notifier : nullptr);
  }
  if (cluster.pg_notifier != nullptr) {
    ListenToPeers(*cluster.pg_notifier, engine, fake_clock ? &*fake_clock : nullptr);
  }
  ApiOptions api_options;
  api_options.ui_dir = opt.ui_dir;
  LocalInstances local_instance("local", clock->NowMs(), [clock] { return clock->NowMs(); });
  InstanceRegistry& registry =
      cluster.instance ? static_cast<InstanceRegistry&>(*cluster.instance) : local_instance;
  InstancesView instances(registry);
  Api api(ApiServices{control, access, agent_tasks, human_tasks, definitions, scripts, metrics,
                      watch, notifications, connections, instances, schedules, bulk,
                      fake_clock ? &*fake_clock : nullptr},
          api_options);
  Result<std::unique_ptr<HttpServer>> server = MakeHttpServer(
      opt.listen, [&api](std::shared_ptr<Exchange> ex) { api.Handle(std::move(ex)); },
      *http_options);
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
  retention.Start();
  schedules.Start();
  bulk.Start();
  const std::string address = (*server)->address();
  local_instance.SetAddress(address);
  if (cluster.instance) {
    cluster.instance->StartBeating(address, [&engine](const std::vector<std::string>& runs) {
      engine.Adopt(runs);
      engine.SyncWorkflowHolds();
    });
  }
  const std::string public_url = opt.public_url.empty() ? "http://" + address : opt.public_url;
  connections.SetPublicUrl(public_url);
  OutboxOptions outbox_options;
  outbox_options.public_url = public_url;
  outbox_options.smtp_from = opt.smtp_from;
  outbox_options.claimer = registry.self();
  // No magic links yet: approval messages go without approve/deny links.
  NotificationOutbox outbox(
      *store, *clock, *http, smtp->get(),
      [&human_tasks](const std::string& approval_id, const std::string& recipient) {
        return human_tasks.MintLinkPath(approval_id, recipient);
      },
      outbox_options);
  outbox.Start();
  outbox_ptr.store(&outbox);
  if (Status written = WriteFileAtomically(opt.data_dir + "/listen-address", address + "\n", 0600);
      !written.ok()) {
    std::cerr << "error: " << written.message() << "\n";
    outbox_ptr.store(nullptr);
    outbox.Stop();
    agents.Stop();
    engine.Stop();
    return 1;
  }
  spdlog::info("stepwell listening on http://{} (data in {}, {} connections at most{}{})", address,
               opt.data_dir, (*server)->max_connections(),
               opt.allow_private_targets ? ", private targets allowed" : "",
               opt.allow_shell ? ", shell allowed" : "");
  std::cout << "Listening on http://" << address << std::endl;

  HttpServer* raw_server = server->get();
  g_server.store(raw_server);
  (*server)->Run();
  g_server.store(nullptr);
  spdlog::info("stopping");
  api.Stop();  // the handlers that wait for a commit, while the store still takes them
  // Stop in dependency order: the engine first (its pool drops late callbacks), then
  // the HTTP client (requests in flight answer "shutting down"), then the script
  // invocations (their http steps have just ended), then the store (its writer drains
  // and completes queued changes) — all while the engine still exists.
  // The outbox first: what it did not record stays pending and is sent after a restart.
  outbox_ptr.store(nullptr);
  outbox.Stop();
  schedules.Stop();
  bulk.Stop();
  agents.Stop();
  if (cluster.instance) {
    // Nothing hands the engine runs or signals from other instances once it stops; the
    // leases go when the cluster does, after the engine.
    cluster.instance->StopBeating();
    cluster.pg_notifier->SetRemoteListener(nullptr);
  }
  engine.Stop();
  retention.Stop();
  processes.reset();
  smtp->reset();
  http.reset();
  scripts.Stop();
  store.reset();
  return 0;
}

int CreateWorkspaceCommand(const std::string& data_dir, const std::string& store,
                           const std::string& slug) {
  Result<std::unique_ptr<Store>> opened = OpenStore(data_dir, store);
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
  serve->add_option("--data-dir", opt->data_dir,
                    "Where the SQLite store lives (with --store: the server's own files)");
  serve
      ->add_option("--store", opt->store,
                   "postgresql://USER@HOST:PORT/DB: the store is that PostgreSQL database "
                   "(default: SQLite in the data directory)")
      ->envname("STEPWELL_STORE");
  serve->add_option("--listen", opt->listen, "HOST:PORT to listen on (port 0 picks one)");
  serve->add_flag("--allow-shell", opt->allow_shell, "Allow shell steps");
  serve
      ->add_option("--max-steps-per-minute", opt->max_steps_per_minute,
                   "Throughput breaker: step attempts per workflow per minute, for definitions "
                   "without limits.max_steps_per_minute")
      ->check(CLI::Range(int64_t{1}, kMaxPerMinuteLimit));
  serve
      ->add_option("--max-runs-per-minute", opt->max_runs_per_minute,
                   "Throughput breaker: runs started per workflow per minute, for definitions "
                   "without limits.max_runs_per_minute (0: no limit)")
      ->check(CLI::Range(int64_t{0}, kMaxPerMinuteLimit));
  serve->add_flag("--allow-private-targets", opt->allow_private_targets,
                  "Allow http steps to reach loopback and private addresses and the "
                  "server's own");
  serve->add_flag("--fake-clock", opt->fake_clock,
                  "Tests only: time moves only through the testing API");
  serve
      ->add_option_function<std::string>(
          "--log-format",
          [opt](const std::string& name) {
            if (!ParseLogFormat(name, opt->log_format)) {
              throw CLI::ValidationError("--log-format", "text or json, not '" + name + "'");
            }
          },
          "Log lines as text (default) or one JSON object a line")
      ->envname("STEPWELL_LOG_FORMAT");
  serve->add_option("--http-threads", opt->http_threads, "HTTP I/O threads")
      ->check(CLI::Range(1, 64));
  serve->add_option("--ui-dir", opt->ui_dir, "The web UI's build to serve (web/dist)");
  serve->add_option("--workers", opt->workers, "Engine worker threads")->check(CLI::Range(1, 64));
  serve->add_option("--smtp-url", opt->smtp_url,
                    "SMTP server for notification emails: smtp://HOST:PORT or smtps://HOST:PORT");
  serve->add_option("--smtp-from", opt->smtp_from, "Sender address of notification emails");
  serve->add_flag("--smtp-starttls", opt->smtp_starttls,
                  "Require STARTTLS on an smtp:// server (smtps:// is TLS from the start)");
  serve->add_option("--public-url", opt->public_url,
                    "Base URL of links in notifications (default http://<listen address>)");
  serve->add_option("--max-connections", opt->max_connections,
                    "Open HTTP connections at most (default: what the descriptor limit, "
                    "ulimit -n, leaves room for); at the cap a new connection replaces the "
                    "oldest idle one");
  serve->add_option("--header-timeout", opt->header_timeout,
                    "Time a request's headers may take to arrive (default 10s)");
  serve->add_option("--idle-timeout", opt->idle_timeout,
                    "Time a kept-alive connection may stay idle between requests (default 60s)");
  serve
      ->add_option("--shell-containment", opt->shell_containment,
                   "How shell steps' processes are contained: auto (a cgroup per attempt where "
                   "the machine allows it, else a keeper process alone), cgroup (or fail), "
                   "subreaper")
      ->check(CLI::IsMember({"auto", "cgroup", "subreaper"}));
  serve->add_option("--metrics-token-file", opt->metrics_token_file,
                    "File whose first line is the bearer token GET /metrics needs (else "
                    "STEPWELL_METRICS_TOKEN; without either /metrics is closed)");
  serve->add_flag("--public-metrics", opt->public_metrics,
                  "Serve GET /metrics to anyone, without a token");
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
  auto ws_store = std::make_shared<std::string>();
  create->add_option("--data-dir", *ws_dir, "Where the SQLite store lives");
  create->add_option("--store", *ws_store, "postgresql://USER@HOST:PORT/DB (default: SQLite)")
      ->envname("STEPWELL_STORE");
  create->callback([ws_dir, ws_store, ws_slug] {
    int code = CreateWorkspaceCommand(*ws_dir, *ws_store, *ws_slug);
    if (code != 0) {
      throw CLI::RuntimeError(code);
    }
  });
}

}  // namespace sw::cli
