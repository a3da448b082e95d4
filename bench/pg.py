"""The PostgreSQL side of bench/run.py (`--store postgres`): one throw-away cluster for the
whole invocation (tests/support/pg_cluster.py), a fresh database for every workload
repetition, several `stepwell serve` instances on it, pgbench's limit on the same disk,
and the takeover workload (kill -9 of the instance driving a run).

Standard library only. Not thread-safe: used from the driver's main thread, except
TakeoverTarget, whose handler threads share its state under a condition variable.
"""

import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
from pg_cluster import PgCluster  # noqa: E402

from http_target import LocalServer, answer_json, hold_until_hangup, wait_on  # noqa: E402
from procfs import each_process  # noqa: E402

PGBENCH_SCALE = 10
PGBENCH_RUNS = (  # (clients, threads, seconds): -N, the simple update, without branches
    (1, 1, 5),
    (4, 2, 10),
)
TPS_RE = re.compile(r"^tps = ([0-9.]+) \(without initial connection time\)", re.M)
# Issue 15's targets on PostgreSQL (W3b's 10 ms is the same as on SQLite).
TARGETS = {"W1_p50_ms": 3.0, "W2_steps_per_s": 8000, "takeover_ms": 5000}


class PgStore:
    """The cluster of one invocation; hands out a new database per server start."""

    def __init__(self):
        self.cluster = PgCluster()
        self.count = 0

    def new_database(self, label):
        self.count += 1
        name = re.sub(r"[^a-z0-9_]", "_", f"bench_{self.count}_{label.lower()}")[:40]
        return self.cluster.create_database(f"{name}_{secrets.token_hex(3)}")

    def describe(self):
        return {"kind": "postgres", "bindir": self.cluster.bindir, "port": self.cluster.port,
                "data_dir": self.cluster.data_dir}

    def cpu_jiffies(self):
        """utime+stime of every process named `postgres` (the cluster's server and its
        backends; this machine runs no other PostgreSQL)."""
        return sum(int(rest[11]) + int(rest[12])
                   for _, name, rest in each_process() if name == "postgres")

    def stop(self):
        self.cluster.stop()


def measure_pgbench(store):
    """pgbench's simple update (-N) on a database of its own in the same cluster: the
    commit rate PostgreSQL itself reaches on this disk with fsync on."""
    cluster = store.cluster
    url = store.new_database("pgbench")
    dbname = url.rsplit("/", 1)[1]
    exe = os.path.join(cluster.bindir, "pgbench")
    base = [exe, "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "stepwell"]
    out = {"scale": PGBENCH_SCALE, "runs": []}
    t0 = time.monotonic()
    init = subprocess.run([*base, "-i", "-q", "-s", str(PGBENCH_SCALE), dbname],
                          capture_output=True, text=True, timeout=300)
    out["init_s"] = round(time.monotonic() - t0, 2)
    if init.returncode != 0:
        out["error"] = (init.stdout + init.stderr)[-500:]
        return out
    for clients, threads, seconds in PGBENCH_RUNS:
        proc = subprocess.run([*base, "-N", "-c", str(clients), "-j", str(threads), "-T",
                               str(seconds), dbname], capture_output=True, text=True,
                              timeout=seconds + 120)
        m = TPS_RE.search(proc.stdout)
        out["runs"].append({"clients": clients, "threads": threads, "seconds": seconds,
                            "tps": float(m.group(1)) if m else None,
                            "error": None if m else (proc.stdout + proc.stderr)[-500:]})
    return out


class Instances:
    """Several `stepwell serve` on one PostgreSQL database, seen by the workloads as one
    server: bulk requests are spread over all of them (`addresses`), `conn(i)` talks to
    instance i, and `pid` (memory, the W3b shell probe, per-phase CPU) is the first's."""

    def __init__(self, server_cls, binary, tmp_root, flags, keep, url, n):
        env = {"STEPWELL_SECRET_KEY": secrets.token_hex(32)}  # the same for every instance
        token = "sw_" + secrets.token_urlsafe(32)  # made by the first start, valid on all
        self.servers = []
        try:
            # One after the other: the first creates the schema and the workspace.
            for _ in range(n):
                self.servers.append(server_cls(binary, tmp_root, flags, keep=keep, store=url,
                                               env=env, token=token))
        except BaseException:
            self.stop()
            raise
        first = self.servers[0]
        self.host, self.port, self.token = first.host, first.port, first.token
        self.startup_s, self.data_dir = first.startup_s, first.data_dir

    @property
    def pid(self):
        return self.servers[0].pid

    @property
    def addresses(self):
        return [(s.host, s.port) for s in self.servers]

    def conn(self, instance=0):
        return self.servers[instance % len(self.servers)].conn()

    def encode(self, method, path, body=None, auth=True):
        return self.servers[0].encode(method, path, body, auth)

    def cpu_jiffies(self):
        return sum(s.cpu_jiffies() for s in self.servers)

    def alive(self):
        return all(s.alive() for s in self.servers)

    def log_tail(self, n=40):
        return "\n".join(f"[instance {i}]\n{s.log_tail(n)}" for i, s in enumerate(self.servers))

    def log_problems(self, limit=20):
        out = {"count": 0, "lines": []}
        for i, s in enumerate(self.servers):
            p = s.log_problems(limit)
            out["count"] += p["count"]
            out["lines"] += [f"[{i}] {ln}" for ln in p["lines"]][:limit - len(out["lines"])]
        return out

    def data_dir_bytes(self):
        return self.servers[0].data_dir_bytes()

    def stop(self):
        return [s.stop() for s in self.servers]


class TakeoverTarget:
    """HTTP target for the takeover: the first call is held until its caller goes away
    (the killed instance), every later call is answered at once. Records each arrival."""

    def __init__(self, hold_s=60.0):
        self.arrivals = []  # perf_counter of each request, in order
        self.first_closed = None
        self.cond = threading.Condition()
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_GET(self):
                with target.cond:
                    target.arrivals.append(time.perf_counter())
                    first = len(target.arrivals) == 1
                    target.cond.notify_all()
                if first and hold_until_hangup(self.connection, time.monotonic() + hold_s):
                    with target.cond:
                        target.first_closed = time.perf_counter()
                        target.cond.notify_all()
                    return
                answer_json(self, b'{"again": true}')

        self.server = LocalServer(Handler)
        self.port = self.server.port

    def wait_arrivals(self, n, timeout):
        return wait_on(self.cond, lambda: len(self.arrivals) >= n, timeout)

    def close(self):
        self.server.close()


def takeover(server, ctx):
    """A run in a long `http` step on instance 0; 1 s into the step, kill -9 of instance 0;
    the time until instance 1 runs the step again and until the step after it finished
    (its `finished_at`, server clock) and the run is seen completed through instance 1."""
    rt = ctx["run"]
    if not isinstance(server, Instances) or len(server.servers) < 2:
        return {"ok": False, "error": "needs --store postgres (two instances)"}
    target = TakeoverTarget()
    a, b = server.servers[0], server.servers[1]
    ca, cb = a.conn(), b.conn()
    try:
        rt.apply_definitions(server, {"hold": {"id": "hold", "steps": [
            {"id": "call", "type": "http", "timeout": "90s",
             "with": {"method": "GET", "url": f"http://127.0.0.1:{target.port}/hold"}},
            rt.noop("after", {"ok": True})]}})
        rid, _, code, body = rt.start_run(ca, "hold")
        if not rid:
            return {"ok": False, "error": f"start HTTP {code}: {body}"}
        if not target.wait_arrivals(1, 15):
            return {"ok": False, "error": "the step never called the target"}
        time.sleep(1.0)
        _, before = cb.request("GET", "/api/v1/instances")
        t_kill_wall = time.time()
        t_kill = time.perf_counter()
        os.kill(a.pid, signal.SIGKILL)
        a._stop_process()  # reaps it, keeping its CPU time for the report
        rerun = target.wait_arrivals(2, 30)
        t_rerun = target.arrivals[1] if rerun else None
        run, t_seen = None, None
        end = time.perf_counter() + 30
        while time.perf_counter() < end:
            rt.check_stop()
            status, run = cb.request("GET", f"/api/v1/runs/{rid}?wait_ms=5000")
            if status == 200 and run.get("status") in rt.TERMINAL:
                t_seen = time.perf_counter()
                break
        _, after = cb.request("GET", "/api/v1/instances")
    finally:
        ca.close()
        cb.close()
        target.close()
    steps = {s.get("id"): s for s in (run or {}).get("steps", [])}
    try:
        finished = rt.rfc3339_ms(steps["after"]["finished_at"]) - t_kill_wall * 1000
    except (KeyError, ValueError, TypeError):
        finished = None
    out = {
        "kill_to_step_rerun_ms": rt.ms(t_rerun - t_kill) if t_rerun else None,
        "kill_to_next_step_finished_ms": round(finished, 1) if finished is not None else None,
        "kill_to_completed_seen_ms": rt.ms(t_seen - t_kill) if t_seen else None,
        "first_call_closed_after_kill_ms": rt.ms(target.first_closed - t_kill)
        if target.first_closed else None,
        "target_calls": len(target.arrivals), "final_status": (run or {}).get("status"),
        "output": (run or {}).get("output"),
        "instances_before": len((before or {}).get("items", [])),
        "instances_after": len((after or {}).get("items", [])),
        "target_ms": TARGETS["takeover_ms"],
    }
    out["ok"] = (out["final_status"] == "completed" and out["output"] == {"ok": True}
                 and out["target_calls"] == 2)
    return out
