"""End-to-end harness: starts the real `stepwell` binary and drives it over HTTP.

Standard library only. Every wait in here is bounded; nothing sleeps to synchronise
(conditions are polled with a deadline). See README.md in this folder.

Environment:
  STEPWELL_BIN                path of the binary (default: build/stepwell under the repo root)
  STEPWELL_E2E_TIMEOUT_SCALE  multiply every timeout (e.g. 3 for sanitizer builds)
  STEPWELL_E2E_KEEP           keep the temporary data directories (for debugging)
  STEPWELL_E2E_LOG_LINES      how many server log lines to print on failure (default 200)
  STEPWELL_TEST_STORE         `sqlite` (default) or `postgres`: every server gets a database
                              of its own on one throw-away PostgreSQL cluster per process
"""

import atexit
import http.client
import http.server
import json
import os
import re
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
SUPPORT_DIR = REPO_ROOT / "tests" / "support"
TIMEOUT_SCALE = float(os.environ.get("STEPWELL_E2E_TIMEOUT_SCALE", "1") or "1")
KEEP_DATA = bool(os.environ.get("STEPWELL_E2E_KEEP"))
LOG_LINES = int(os.environ.get("STEPWELL_E2E_LOG_LINES", "200") or "200")
STORE = os.environ.get("STEPWELL_TEST_STORE") or "sqlite"
if STORE not in ("sqlite", "postgres"):
    raise RuntimeError(f"STEPWELL_TEST_STORE={STORE!r}: want sqlite or postgres")

# Bounds.
SERVER_START_TIMEOUT = 20.0
DEFAULT_WAIT_TIMEOUT = 10.0
POLL_INTERVAL = 0.02
REQUEST_TIMEOUT = 30.0
PG_LOG_LINES = 50

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TERMINAL = ("completed", "failed", "cancelled")

# The workflow of the runs that advance_clock_and_settle() uses as a barrier.
CLOCK_BARRIER_WORKFLOW = "e2e-clock-barrier"


def scaled(seconds):
    return seconds * TIMEOUT_SCALE


def stepwell_bin():
    value = os.environ.get("STEPWELL_BIN") or "build/stepwell"
    path = Path(value)
    if not path.is_absolute():
        path = REPO_ROOT / path
    return str(path)


def parse_time(text):
    """RFC 3339 UTC with milliseconds -> aware datetime. Asserts the exact format."""
    if not isinstance(text, str) or not TIME_RE.match(text):
        raise AssertionError(f"not an RFC 3339 UTC time with milliseconds: {text!r}")
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def format_time(dt):
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _die_with_parent():
    # Linux only: the server gets SIGKILL if the test process dies, so a crashed test
    # run never leaves servers behind. Best effort.
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort only
        pass


def _preexec(fd_limit):
    def run():
        _die_with_parent()
        if fd_limit is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_NOFILE, (fd_limit, fd_limit))

    return run


_LIVE_PROCESSES = set()


def _kill_leftovers():
    for proc in list(_LIVE_PROCESSES):
        if proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


atexit.register(_kill_leftovers)


def on_postgres():
    """True when the servers run on PostgreSQL (STEPWELL_TEST_STORE=postgres)."""
    return STORE == "postgres"


# PostgreSQL: one cluster for the whole test process, started on first use, and the
# database of each data directory, so that a server started again on the same
# directory finds its data (realpath of the data dir -> URL).
_PG = {"cluster": None, "databases": {}, "created": 0}


def pg_cluster():
    """The PostgreSQL cluster of this process (pg_cluster.PgCluster), started on first
    use and stopped at exit; e.g. to restart the database under load."""
    if _PG["cluster"] is None:
        if str(SUPPORT_DIR) not in sys.path:
            sys.path.insert(0, str(SUPPORT_DIR))
        from pg_cluster import PgCluster

        _PG["cluster"] = PgCluster()
        atexit.register(_stop_pg_cluster)
    return _PG["cluster"]


def _stop_pg_cluster():
    # atexit runs this before _kill_leftovers (registered earlier): servers go first.
    _kill_leftovers()
    cluster = _PG["cluster"]
    if KEEP_DATA:
        cluster.stop(keep_files=True)
        print(f"[e2e] kept PostgreSQL cluster files in {cluster.home}", file=sys.stderr)
    else:
        cluster.stop()


def pg_database_for(data_dir):
    """The URL of the database of the server on `data_dir`: a fresh empty one the first
    time, the same one again for a server started later on the same directory."""
    key = os.path.realpath(data_dir)
    url = _PG["databases"].get(key)
    if url is None:
        _PG["created"] += 1
        url = pg_cluster().create_database(f"e2e_{_PG['created']}")
        _PG["databases"][key] = url
    return url


def _pg_log_tail(lines=PG_LOG_LINES):
    path = pg_cluster().log_path
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read().splitlines()
    except OSError as e:
        return f"PostgreSQL log unreadable: {e}"
    return (f"----- PostgreSQL log ({path}), last {lines} lines -----\n"
            + "\n".join(text[-lines:]) + "\n----- end of log -----")


def _forget_pg_database(data_dir):
    _PG["databases"].pop(os.path.realpath(data_dir), None)


def store_paths(server):
    """The directories holding what `server` stored: its data directory and, on
    PostgreSQL, the cluster's (shared with the other servers of this process)."""
    paths = [server.data_dir]
    if server.store_url is not None:
        paths.append(pg_cluster().data_dir)
    return paths


class Response:
    """An HTTP answer. Unpacks as (status, headers, json)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage: case-insensitive .get()
        self.body = body
        self.json = None
        if body:
            try:
                self.json = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                self.json = None

    def __iter__(self):
        return iter((self.status, self.headers, self.json))

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    def __repr__(self):
        return f"<Response {self.status} {self.text[:2000]!r}>"


_ADMIN = object()
_DEFAULT = object()


class Server:
    """One `stepwell serve` process on a temporary data directory."""

    def __init__(self, *, fake_clock=False, allow_private_targets=False, extra_args=(),
                 env=None, name="stepwell", fd_limit=None, data_dir=None, instance_of=None):
        """`instance_of`: another Server whose database this one shares (PostgreSQL
        only), as a second instance of one deployment: its own data directory, the
        other's admin and metrics tokens and its secret.key (copied)."""
        self.name = name
        self.binary = stepwell_bin()
        if not os.path.isfile(self.binary) or not os.access(self.binary, os.X_OK):
            raise RuntimeError(
                f"stepwell binary not found or not executable at {self.binary}; build it "
                f"(cmake --build build) or set STEPWELL_BIN")
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="stepwell-e2e-")
        self.admin_token = "sw_" + secrets.token_urlsafe(32)  # 43 URL-safe characters
        # The bearer token GET /metrics needs (a workspace's token is refused).
        self.metrics_token = "swm_" + secrets.token_urlsafe(32)
        if instance_of is not None:
            self._join(instance_of)
        self.flags = []
        if allow_private_targets:
            self.flags.append("--allow-private-targets")
        if fake_clock:
            self.flags.append("--fake-clock")
        self.flags.extend(extra_args)
        self.env = dict(os.environ)
        self.env["STEPWELL_ADMIN_TOKEN"] = self.admin_token
        self.env["STEPWELL_METRICS_TOKEN"] = self.metrics_token
        if env:
            self.env.update(env)
            self.metrics_token = self.env.get("STEPWELL_METRICS_TOKEN")
        # On PostgreSQL the store is a database given by URL; the CLI commands a test
        # runs with this env (e.g. `secrets rotate`) reach it through STEPWELL_STORE.
        self.store_url = pg_database_for(self.data_dir) if on_postgres() else None
        if self.store_url is not None:
            self.env["STEPWELL_STORE"] = self.store_url
        self.log_path = os.path.join(self.data_dir, "server.log")
        self.fd_limit = fd_limit  # RLIMIT_NOFILE of the server (soft and hard); None: ours
        self.proc = None
        self.host = None
        self.port = None
        self.starts = 0
        self._barrier_workflow_stored = False
        self.start()

    def _join(self, other):
        if other.store_url is None:
            raise RuntimeError("several instances share a database: STEPWELL_TEST_STORE="
                               "postgres")
        _PG["databases"][os.path.realpath(self.data_dir)] = other.store_url
        self.admin_token, self.metrics_token = other.admin_token, other.metrics_token
        key = os.path.join(other.data_dir, "secret.key")
        mine = os.path.join(self.data_dir, "secret.key")
        if os.path.exists(key) and not os.path.exists(mine):
            shutil.copy2(key, mine)

    # ----------------------------------------------------------------- process

    @property
    def listen_file(self):
        return os.path.join(self.data_dir, "listen-address")

    def start(self):
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("server already running")
        try:
            os.unlink(self.listen_file)
        except FileNotFoundError:
            pass
        store = ["--store", self.store_url] if self.store_url is not None else []
        args = [self.binary, "serve", "--data-dir", self.data_dir, *store, "--listen",
                "127.0.0.1:0", *self.flags]
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"\n=== e2e: start #{self.starts}: {' '.join(args)}\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=self.env, cwd=self.data_dir, preexec_fn=_preexec(self.fd_limit))
        _LIVE_PROCESSES.add(self.proc)
        deadline = time.monotonic() + scaled(SERVER_START_TIMEOUT)
        address = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"stepwell exited with {self.proc.returncode} before listening\n"
                    + self.log_tail())
            try:
                with open(self.listen_file, encoding="utf-8") as f:
                    content = f.read()
                if content.endswith("\n") and content.strip():
                    address = content.strip()
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.01)
        if address is None:
            self.kill(signal.SIGKILL)
            raise RuntimeError(f"no {self.listen_file} within {SERVER_START_TIMEOUT}s\n"
                               + self.log_tail())
        host, _, port = address.rpartition(":")
        self.host, self.port = host.strip("[]"), int(port)
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"stepwell exited with {self.proc.returncode}\n"
                                   + self.log_tail())
            try:
                resp = self.request("GET", "/healthz", token=None, timeout=2)
                if resp.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        self.kill(signal.SIGKILL)
        raise RuntimeError("GET /healthz did not answer 200 in time\n" + self.log_tail())

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig=signal.SIGKILL, timeout=10.0):
        """Sends `sig` and waits (bounded) for the process to exit; returns its code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=scaled(timeout))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
                raise AssertionError(f"stepwell did not exit within {timeout}s of {sig!r}")
        _LIVE_PROCESSES.discard(self.proc)
        return self.proc.returncode

    def restart(self, sig=signal.SIGKILL):
        """Stops the server (if running) and starts it again on the same data dir."""
        self.kill(sig)
        self.start()

    def close(self):
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.kill(signal.SIGTERM, timeout=5)
        except AssertionError:
            pass
        finally:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
            if self.proc is not None:
                _LIVE_PROCESSES.discard(self.proc)
            if KEEP_DATA:
                print(f"[e2e] kept data dir {self.data_dir}", file=sys.stderr)
            else:
                shutil.rmtree(self.data_dir, ignore_errors=True)
                _forget_pg_database(self.data_dir)

    def log_text(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def log_tail(self, lines=None):
        lines = lines or LOG_LINES
        text = self.log_text().splitlines()
        return (f"----- {self.name} log ({self.log_path}), last {lines} lines -----\n"
                + "\n".join(text[-lines:]) + "\n----- end of log -----")

    # ------------------------------------------------------------------ client

    def request(self, method, path, body=None, *, token=_ADMIN, headers=None, raw_body=None,
                content_type=_DEFAULT, timeout=REQUEST_TIMEOUT):
        """One HTTP request on a fresh connection. `body` is JSON-encoded; `raw_body` is
        sent as is. `token=None` sends no Authorization header."""
        hdrs = {}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
        elif raw_body is not None:
            payload = raw_body if isinstance(raw_body, bytes) else raw_body.encode("utf-8")
        if payload is not None:
            if content_type is _DEFAULT:
                content_type = "application/json"
            if content_type is not None:
                hdrs["Content-Type"] = content_type
        elif content_type not in (_DEFAULT, None):
            hdrs["Content-Type"] = content_type
        if token is _ADMIN:
            token = self.admin_token
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        if headers:
            hdrs.update(headers)
        conn = http.client.HTTPConnection(self.host, self.port, timeout=scaled(timeout))
        try:
            try:
                conn.request(method, path, body=payload, headers=hdrs)
            except (BrokenPipeError, ConnectionResetError):
                # The server may answer (e.g. 413) and close before reading everything.
                pass
            resp = conn.getresponse()
            data = resp.read()
            return Response(resp.status, resp.headers, data)
        finally:
            conn.close()

    api = request

    def healthy(self):
        try:
            return self.request("GET", "/healthz", token=None, timeout=5).status == 200
        except OSError:
            return False

    # ----------------------------------------------------------------- helpers

    def put_workflow(self, definition, token=_ADMIN, expect=(200, 201)):
        resp = self.request("PUT", f"/api/v1/workflows/{definition['id']}", definition,
                            token=token)
        if resp.status not in expect:
            raise AssertionError(f"PUT workflow {definition['id']}: {resp!r}")
        return resp.json

    def start_run(self, wf, input=None, token=_ADMIN, headers=None):
        body = {"input": input if input is not None else {}}
        resp = self.request("POST", f"/api/v1/workflows/{wf}/runs", body, token=token,
                            headers=headers)
        if resp.status != 201:
            raise AssertionError(f"start run of {wf}: {resp!r}")
        return resp.json

    def get_run(self, run_id, token=_ADMIN):
        resp = self.request("GET", f"/api/v1/runs/{run_id}", token=token)
        if resp.status != 200:
            raise AssertionError(f"GET run {run_id}: {resp!r}")
        return resp.json

    def wait_for(self, run_id, predicate, timeout=DEFAULT_WAIT_TIMEOUT, desc="condition"):
        """Polls GET /api/v1/runs/{id} every ~20 ms until predicate(run) holds."""
        deadline = time.monotonic() + scaled(timeout)
        run = None
        while True:
            run = self.get_run(run_id)
            if predicate(run):
                return run
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {desc} on {run_id}; last state:\n"
                    + json.dumps(run, indent=1)[:6000])
            time.sleep(POLL_INTERVAL)

    def wait_status(self, run_id, *statuses, timeout=DEFAULT_WAIT_TIMEOUT):
        return self.wait_for(run_id, lambda r: r["status"] in statuses, timeout,
                             desc=f"status in {statuses}")

    def wait_step(self, run_id, step_path, *statuses, timeout=DEFAULT_WAIT_TIMEOUT):
        def pred(run):
            step = find_step(run, step_path, required=False)
            return step is not None and step["status"] in statuses

        return self.wait_for(run_id, pred, timeout,
                             desc=f"step {step_path} status in {statuses}")

    def run_and_wait(self, wf, input=None, timeout=DEFAULT_WAIT_TIMEOUT):
        run = self.start_run(wf, input)
        return self.wait_status(run["id"], *TERMINAL, timeout=timeout)

    def control(self, run_id, action, body=None, token=_ADMIN, headers=None):
        return self.request("POST", f"/api/v1/runs/{run_id}/{action}",
                            body if body is not None else {}, token=token, headers=headers)

    def send_event(self, run_id, event_type, payload=None, token=_ADMIN):
        return self.request("POST", f"/api/v1/runs/{run_id}/events",
                            {"event_type": event_type, "payload": payload}, token=token)

    def create_token(self, role, name, token=_ADMIN):
        resp = self.request("POST", "/api/v1/tokens", {"role": role, "name": name},
                            token=token)
        if resp.status != 201:
            raise AssertionError(f"create token {role}/{name}: {resp!r}")
        return resp.json

    def create_workspace(self, slug):
        """Runs `stepwell workspaces create SLUG --data-dir DIR` (allowed while the
        server runs) and returns the admin token it prints alone on a line."""
        proc = subprocess.run(
            [self.binary, "workspaces", "create", slug, "--data-dir", self.data_dir],
            capture_output=True, text=True, timeout=scaled(30), env=self.env,
            cwd=self.data_dir)
        if proc.returncode != 0:
            raise AssertionError(f"workspaces create {slug} exited {proc.returncode}:\n"
                                 f"{proc.stdout}\n{proc.stderr}")
        lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
        tokens = [line for line in lines if re.fullmatch(r"sw_[A-Za-z0-9_-]{43}", line)]
        if tokens:
            return tokens[-1]
        alone = [line for line in lines if re.fullmatch(r"\S+", line)]
        if not alone:
            raise AssertionError(f"no token line in the output of workspaces create:\n"
                                 f"{proc.stdout}")
        return alone[-1]

    def advance_clock(self, ms):
        resp = self.request("POST", "/api/v1/testing/clock/advance", {"ms": ms})
        if resp.status != 200:
            raise AssertionError(f"advance clock by {ms} ms: {resp!r}")
        return resp.json

    def fake_now(self):
        """The fake clock's time (advancing it by 1 ms)."""
        return parse_time(self.advance_clock(1)["now"])

    def advance_clock_and_settle(self, ms):
        """Advances the fake clock by `ms` (at least 1) and returns once the server has
        fired every timer due by the new time.

        The proof is a barrier run that sleeps until exactly the new time: the timer
        service fires due timers in due order, so when the barrier run has completed,
        any timer due no later than it has fired too. A negative check ("no attempt
        before the back-off ends", "the run stays waiting") follows this instead of an
        observation window. Returns the clock route's answer."""
        if ms < 1:
            raise ValueError("advance_clock_and_settle needs ms >= 1")
        if not self._barrier_workflow_stored:
            self.put_workflow({"id": CLOCK_BARRIER_WORKFLOW, "steps": [
                {"id": "until", "type": "sleep_until", "with": {"at": "${{ input.at }}"}}]})
            self._barrier_workflow_stored = True
        now = parse_time(self.advance_clock(0)["now"])
        barrier = self.start_run(CLOCK_BARRIER_WORKFLOW,
                                 {"at": format_time(now + timedelta(milliseconds=ms))})
        # Parked on its timer before the clock moves (else it would not wait at all).
        self.wait_status(barrier["id"], "waiting")
        moved = self.advance_clock(ms)
        done = self.wait_status(barrier["id"], *TERMINAL)
        if done["status"] != "completed":
            raise AssertionError(f"the clock barrier run did not complete: {done!r}")
        return moved

    def active_runs(self):
        """How many runs the engine is driving now (the /metrics gauge)."""
        resp = self.request("GET", "/metrics", token=self.metrics_token)
        match = re.search(r"^stepwell_active_runs (\d+)$", resp.text, re.MULTILINE)
        if resp.status != 200 or match is None:
            raise AssertionError(f"GET /metrics has no stepwell_active_runs: {resp!r}")
        return int(match.group(1))

    def wait_engine_idle(self, timeout=DEFAULT_WAIT_TIMEOUT):
        """Waits until the engine drives no run: every step it started has ended and been
        committed, and each run it let go of is parked, paused or ended. A negative check
        ("a paused run starts no step") follows this instead of an observation window."""
        wait_until(lambda: self.active_runs() == 0, timeout,
                   "the engine to drive no run")

    def create_connection(self, name, oauth2, app="slack", token=_ADMIN):
        """POST /api/v1/connections; asserts 201 and returns the connection."""
        resp = self.request("POST", "/api/v1/connections",
                            {"name": name, "app": app, "oauth2": oauth2}, token=token)
        if resp.status != 201:
            raise AssertionError(f"create connection {name}: {resp!r}")
        return resp.json

    def list_all(self, path, token=_ADMIN, limit=500):
        """Walks every page of a collection; returns all items."""
        items = []
        sep = "&" if "?" in path else "?"
        url = f"{path}{sep}limit={limit}"
        for _ in range(1000):
            resp = self.request("GET", url, token=token)
            if resp.status != 200:
                raise AssertionError(f"GET {url}: {resp!r}")
            items.extend(resp.json["items"])
            cursor = resp.json.get("next_cursor")
            if not cursor:
                return items
            url = f"{path}{sep}limit={limit}&cursor={_quote(cursor)}"
        raise AssertionError(f"more than 1000 pages at {path}")


def _quote(text):
    from urllib.parse import quote

    return quote(text, safe="")


def find_step(run, path, required=True):
    """The step entry whose `path` (or, failing that, `id`) is `path`."""
    for step in run.get("steps") or []:
        if step.get("path") == path:
            return step
    for step in run.get("steps") or []:
        if step.get("path") is None and step.get("id") == path:
            return step
    if required:
        raise AssertionError(f"no step {path!r} in run:\n" + json.dumps(run, indent=1)[:6000])
    return None


class SSEStream:
    """A Server-Sent Events reader over http.client; every read is bounded."""

    def __init__(self, server, path, token=_ADMIN, headers=None, timeout=10.0):
        if token is _ADMIN:
            token = server.admin_token
        hdrs = {"Accept": "text/event-stream"}
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        if headers:
            hdrs.update(headers)
        self.conn = http.client.HTTPConnection(server.host, server.port,
                                               timeout=scaled(timeout))
        self.conn.request("GET", path, headers=hdrs)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = self.resp.headers
        self.comments = []
        self.eof = False

    def next_event(self):
        """The next event as {"event", "data", "id"}; None at end of stream. A read
        that takes longer than the timeout raises socket.timeout."""
        event = {"event": "message", "data_lines": [], "id": None}
        seen = False
        while True:
            line = self.resp.readline()
            if not line:
                self.eof = True
                if seen:
                    return self._finish(event)
                return None
            line = line.decode("utf-8").rstrip("\r\n")
            if line == "":
                if seen:
                    return self._finish(event)
                continue
            if line.startswith(":"):
                self.comments.append(line)
                continue
            field, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            seen = True
            if field == "event":
                event["event"] = value
            elif field == "data":
                event["data_lines"].append(value)
            elif field == "id":
                event["id"] = value

    @staticmethod
    def _finish(event):
        raw = "\n".join(event.pop("data_lines"))
        event["raw"] = raw
        try:
            event["data"] = json.loads(raw) if raw else None
        except ValueError:
            event["data"] = None
        return event

    def close(self):
        self.conn.close()


def _tcp_queues(local_port, remote_port):
    """(tx_queue, rx_queue) in bytes of the IPv4 TCP socket from `local_port` to
    `remote_port`, read from /proc/net/tcp (Linux); None when there is none. tx_queue
    counts bytes sent but not yet acknowledged, rx_queue bytes received but not yet
    read by the process that owns the socket."""
    with open("/proc/net/tcp", encoding="ascii") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, queues = fields[1], fields[2], fields[4]
            if (int(local.rsplit(":", 1)[1], 16) == local_port
                    and int(remote.rsplit(":", 1)[1], 16) == remote_port):
                tx, rx = queues.split(":")
                return int(tx, 16), int(rx, 16)
    return None


class PendingRequest:
    """One HTTP/1.1 request on a socket of its own, for requests the server holds
    (long-polls), with the two moments a held request does not show over HTTP:

    - `wait_read_by_server()`: the server process has read the request off its socket
      (every byte acknowledged by its kernel and none left unread there);
    - `hang_up()` then `wait_closed_by_server()`: the client half-closes, as one that
      goes away does, and the server closes its end in turn, which shows it noticed.

    Every wait is bounded. Not thread-safe."""

    def __init__(self, server, method, path, body=None, token=_ADMIN, timeout=30.0):
        if token is _ADMIN:
            token = server.admin_token
        head = [f"{method} {path} HTTP/1.1", f"Host: {server.host}:{server.port}"]
        payload = b""
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        if token is not None:
            head.append(f"Authorization: Bearer {token}")
        self.server_port = server.port
        self.sock = socket.create_connection((server.host, server.port), timeout=scaled(timeout))
        self.local_port = self.sock.getsockname()[1]
        self.sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("utf-8") + payload)

    def wait_read_by_server(self, timeout=DEFAULT_WAIT_TIMEOUT):
        def read():
            mine = _tcp_queues(self.local_port, self.server_port)
            theirs = _tcp_queues(self.server_port, self.local_port)
            return (mine is not None and theirs is not None and mine[0] == 0
                    and theirs[1] == 0)

        wait_until(read, timeout, "the server to read the request")

    def hang_up(self):
        self.sock.shutdown(socket.SHUT_WR)

    def wait_closed_by_server(self):
        """Reads until the server closes the connection (bounded by the socket's
        timeout); returns what it sent before, b"" when it sent nothing."""
        data = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return data
                data += chunk
        except ConnectionResetError:
            return data

    def response(self):
        """The answer (bounded by the socket's timeout)."""
        resp = http.client.HTTPResponse(self.sock)
        resp.begin()
        return Response(resp.status, resp.headers, resp.read())

    def close(self):
        self.sock.close()


# ------------------------------------------------------------------ target server


class _Route:
    def __init__(self, status=200, body=None, headers=None, block=False, redirect_to=None,
                 handler=None, raw=None, content_type="application/json"):
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.gate = threading.Event()
        if not block:
            self.gate.set()
        self.redirect_to = redirect_to
        self.handler = handler
        self.raw = raw
        self.content_type = content_type


class Target:
    """A local HTTP server that `http` steps call (needs --allow-private-targets).

    Routes answer JSON; a blocking route holds every request until released and
    records when the client hung up (the socket read EOF while blocked). Every request
    is recorded: method, path, query, headers, body, arrival and hang-up times.
    Thread-safe.
    """

    def __init__(self, bind="127.0.0.1"):
        self._cond = threading.Condition()
        self._routes = {}
        self._records = []
        self._counter = 0
        target = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                target._handle(self)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET

        self.httpd = http.server.ThreadingHTTPServer((bind, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                        name="e2e-target")
        self._thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def unique_path(self, prefix="t"):
        with self._cond:
            self._counter += 1
            return f"/{prefix}-{self._counter}"

    def route(self, path, status=200, body=None, headers=None, block=False, redirect_to=None,
              handler=None, raw=None, content_type="application/json"):
        """Configures `path`. `handler(record, n)` (n = 1-based hit count) may return
        (status, body) to answer dynamically."""
        with self._cond:
            self._routes[path] = _Route(status, body, headers, block, redirect_to, handler,
                                        raw, content_type)
        return path

    def release(self, path):
        with self._cond:
            route = self._routes[path]
        route.gate.set()

    def block(self, path):
        with self._cond:
            route = self._routes[path]
        route.gate.clear()

    def requests(self, path):
        with self._cond:
            return [r for r in self._records if r["path"] == path]

    def hits(self, path):
        return len(self.requests(path))

    def wait_for_request(self, path, count=1, timeout=DEFAULT_WAIT_TIMEOUT):
        deadline = time.monotonic() + scaled(timeout)
        with self._cond:
            while True:
                recs = [r for r in self._records if r["path"] == path]
                if len(recs) >= count:
                    return recs[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"target: {len(recs)} request(s) to {path} within {timeout}s, "
                        f"wanted {count}")
                self._cond.wait(min(left, 0.1))

    def wait_for_hangup(self, path, count=1, timeout=DEFAULT_WAIT_TIMEOUT):
        deadline = time.monotonic() + scaled(timeout)
        with self._cond:
            while True:
                recs = [r for r in self._records if r["path"] == path]
                if len(recs) >= count and recs[count - 1]["hung_up_at"] is not None:
                    return recs[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"target: the caller did not hang up on {path} within {timeout}s")
                self._cond.wait(min(left, 0.05))

    def close(self):
        with self._cond:
            routes = list(self._routes.values())
        for route in routes:
            route.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    # Runs on the handler thread.
    def _handle(self, h):
        path, _, query = h.path.partition("?")
        body = self._read_body(h)
        record = {"method": h.command, "path": path, "query": query,
                  "headers": {k.lower(): v for k, v in h.headers.items()},
                  "body": body, "json": None, "arrived_at": time.monotonic(),
                  "hung_up_at": None, "answered_at": None}
        try:
            record["json"] = json.loads(body) if body else None
        except ValueError:
            pass
        with self._cond:
            self._records.append(record)
            n = len([r for r in self._records if r["path"] == path])
            route = self._routes.get(path) or _Route(body={"ok": True, "path": path})
            self._cond.notify_all()
        while not route.gate.wait(0.02):
            if self._client_gone(h.connection):
                with self._cond:
                    record["hung_up_at"] = time.monotonic()
                    self._cond.notify_all()
                h.close_connection = True
                return
        status, payload, headers, ctype = route.status, route.body, dict(route.headers), \
            route.content_type
        if route.handler is not None:
            status, payload = route.handler(record, n)
        if route.redirect_to is not None:
            headers["Location"] = route.redirect_to
        if route.raw is not None:
            data = route.raw if isinstance(route.raw, bytes) else route.raw.encode()
        else:
            data = json.dumps(payload).encode() if payload is not None else b""
        try:
            h.send_response(status)
            if data or route.raw is not None:
                h.send_header("Content-Type", ctype)
            for k, v in headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            if h.command != "HEAD":
                h.wfile.write(data)
            h.wfile.flush()
        except OSError:
            h.close_connection = True
        with self._cond:
            record["answered_at"] = time.monotonic()
            self._cond.notify_all()

    @staticmethod
    def _read_body(h):
        if h.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(h.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while h.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(h.rfile.read(size))
                h.rfile.readline()
            return b"".join(chunks)
        length = int(h.headers.get("Content-Length") or 0)
        return h.rfile.read(length) if length else b""

    @staticmethod
    def _client_gone(sock):
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return False
            return sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True


# ------------------------------------------------------------------ test base


class E2ETestCase(unittest.TestCase):
    """Base class: starts servers/targets per TestCase class, prints server logs when a
    test fails, and offers assertions for the error shape of the contract."""

    maxDiff = 4000

    @classmethod
    def start_server(cls, **kwargs):
        server = Server(**kwargs)
        cls._servers_list().append(server)
        cls.addClassCleanup(server.close)
        return server

    @classmethod
    def start_target(cls, bind="127.0.0.1"):
        """A local HTTP target; bind="0.0.0.0" answers on every address of the host."""
        target = Target(bind)
        cls.addClassCleanup(target.close)
        return target

    @classmethod
    def start_oauth_provider(cls, **kwargs):
        """The fake OAuth 2.0 provider of tests/support/oauth_provider.py, in-process."""
        if str(SUPPORT_DIR) not in sys.path:
            sys.path.insert(0, str(SUPPORT_DIR))
        from oauth_provider import OAuthProvider

        provider = OAuthProvider(**kwargs).start()
        cls.addClassCleanup(provider.stop)
        return provider

    @classmethod
    def _servers_list(cls):
        if "_e2e_servers" not in cls.__dict__:
            cls._e2e_servers = []
        return cls._e2e_servers

    def start_test_server(self, **kwargs):
        """A server that lives for one test only."""
        server = Server(**kwargs)
        self._servers_list().append(server)
        self.addCleanup(server.close)
        return server

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before:
            for server in self._servers_list():
                print(f"\n[e2e] {self.id()} failed; {server.name} log:\n{server.log_tail()}",
                      file=sys.stderr)
            if _PG["cluster"] is not None:
                print(f"\n[e2e] {self.id()} failed; {_pg_log_tail()}", file=sys.stderr)
        return out

    # Assertions.

    def assertError(self, resp, status, code=None, message=None):
        """`resp` has `status` and the body {"error": {"code", "message", ...}}."""
        self.assertEqual(resp.status, status, f"unexpected answer: {resp!r}")
        self.assertErrorShape(resp)
        err = resp.json["error"]
        if code is not None:
            self.assertEqual(err["code"], code, f"unexpected error: {resp!r}")
        if message is not None:
            self.assertEqual(err["message"], message, f"unexpected error: {resp!r}")
        return err

    def assertErrorShape(self, resp):
        self.assertIsInstance(resp.json, dict, f"error body is not a JSON object: {resp!r}")
        self.assertIn("error", resp.json, f"no 'error' in {resp!r}")
        err = resp.json["error"]
        self.assertIsInstance(err, dict, f"'error' is not an object: {resp!r}")
        self.assertIsInstance(err.get("code"), str, f"error.code missing: {resp!r}")
        self.assertRegex(err["code"], r"^[a-z][a-z0-9_]*$", f"error.code not snake_case")
        self.assertIsInstance(err.get("message"), str, f"error.message missing: {resp!r}")
        self.assertTrue(err["message"].strip(), f"empty error.message: {resp!r}")

    def assertStatus(self, resp, status):
        self.assertEqual(resp.status, status, f"unexpected answer: {resp!r}")
        return resp.json

    def assertTime(self, value):
        return parse_time(value)


def etag_version(resp):
    """The version carried by the ETag header ("7" or 7), as an int, or None."""
    value = resp.headers.get("ETag")
    if value is None:
        return None
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    return int(value.strip('"'))


def noop(step_id, value):
    return {"id": step_id, "type": "noop", "with": {"value": value}}


def http_step(step_id, url, method="GET", timeout=None, **with_fields):
    step = {"id": step_id, "type": "http", "with": {"method": method, "url": url, **with_fields}}
    if timeout is not None:
        step["timeout"] = timeout
    return step


def process_dead(pid):
    """True when `pid` no longer runs: no /proc entry, or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
            stat = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return True
    # "pid (comm) S ..." - comm may contain spaces and parentheses; take the last ')'.
    state = stat[stat.rfind(")") + 2:].split(" ", 1)[0]
    return state == "Z"


def wait_until(predicate, timeout=DEFAULT_WAIT_TIMEOUT, desc="condition"):
    deadline = time.monotonic() + scaled(timeout)
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {desc}")
        time.sleep(POLL_INTERVAL)
