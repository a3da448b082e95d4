"""The PostgreSQL server restarted under load (run only with STEPWELL_TEST_STORE=postgres,
as e2e_pg_test_db_restart): two instances on one database, clients starting runs with
an Idempotency-Key and sending controls to both while the database is stopped and
started twice (a fast shutdown, then an immediate one, as a crash).

While the database is away a client gets an error in the contract's shape (503 with
an error code), never a 500 nor a 2xx for something that is then not there. Once it is
back both instances go on by themselves, without a restart: /healthz is ok, new starts
work, every start that was answered 2xx exists and ends, and no step ran more often
than the attempts its run records (a step whose result could not be committed runs
again, as after a crash; a completed one never). An idle instance whose write failed
while the database was away is healthy again once it is back, without another write.

Each shell step appends "<run's key>-<step>" to one file, so executions are counted.
"""

import os
import shutil
import tempfile
import threading
import time
import unittest
import uuid

from harness import E2ETestCase, TERMINAL, on_postgres, pg_cluster, scaled, wait_until

STEPS = ("s1", "s2", "s3")
CLIENTS = 6


def counted_step(step_id, log):
    return {"id": step_id, "type": "shell",
            "with": {"argv": ["sh", "-c", f'echo "$KEY-{step_id}" >> {log}; sleep 0.05'],
                     "env": {"KEY": "${{ input.key }}"}}}


@unittest.skipUnless(on_postgres(), "restarts the PostgreSQL server under two instances")
class DatabaseRestartTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.a = cls.start_server(extra_args=["--allow-shell"])
        cls.b = cls.start_server(extra_args=["--allow-shell"], instance_of=cls.a)
        cls.dir = tempfile.mkdtemp(prefix="stepwell-dbrestart-")
        cls.addClassCleanup(shutil.rmtree, cls.dir, ignore_errors=True)
        cls.log = os.path.join(cls.dir, "executions.log")
        cls.a.put_workflow({"id": "dbr", "steps": [counted_step(s, cls.log) for s in STEPS]})

    def setUp(self):
        self.lock = threading.Lock()
        self.acked = {}  # key -> run id, for every start answered 2xx
        self.bad = []  # answers outside the contract
        self.errors = 0  # 503s seen
        self.stop = threading.Event()

    def check_error(self, what, resp):
        """A refused request: 503 in the error shape while the database is away (docs/
        deploy.md: `unavailable` for a failed commit, `database_unavailable` for a read)."""
        if resp.status == 503 and isinstance(resp.json, dict) and \
                isinstance(resp.json.get("error"), dict) and \
                resp.json["error"].get("code") in ("unavailable", "database_unavailable") and \
                resp.json["error"].get("message"):
            with self.lock:
                self.errors += 1
            return
        with self.lock:
            self.bad.append((what, resp.status, resp.text[:300]))

    def start(self, server, key):
        resp = server.request("POST", "/api/v1/workflows/dbr/runs", {"input": {"key": key}},
                              headers={"Idempotency-Key": key}, timeout=15)
        if resp.status == 201:
            with self.lock:
                known = self.acked.setdefault(key, resp.json["id"])
                if known != resp.json["id"]:
                    self.bad.append(("start " + key, "two runs for one key", known))
            return True
        self.check_error("start " + key, resp)
        return False

    def client(self, n):
        servers = (self.a, self.b) if n % 2 == 0 else (self.b, self.a)
        i = 0
        while not self.stop.is_set():
            i += 1
            key = f"c{n}-{i}-{uuid.uuid4().hex[:8]}"
            # A client that got an error tries again with the same key, on either
            # instance, until an answer is 2xx: the key makes the retry safe.
            for attempt in range(40):
                try:
                    if self.start(servers[attempt % 2], key):
                        break
                except OSError as e:  # a refused or reset connection is an error too
                    with self.lock:
                        self.bad.append(("start " + key, "connection", repr(e)))
                    break
                if self.stop.wait(0.1):
                    break
            with self.lock:
                mine = [r for k, r in self.acked.items() if k.startswith(f"c{n}-")]
            if mine and i % 2 == 0:
                action = ("pause", "resume", "cancel")[i % 3]
                run_id = mine[(i * 7) % len(mine)]
                resp = servers[1].control(run_id, action, {})
                if resp.status not in (200, 409):
                    self.check_error(f"{action} {run_id}", resp)
                got = servers[0].request("GET", f"/api/v1/runs/{run_id}", timeout=15)
                if got.status != 200:
                    self.check_error(f"GET {run_id}", got)

    def healthy_both(self, timeout):
        wait_until(lambda: self.a.healthy() and self.b.healthy(), timeout=timeout,
                   desc="both instances healthy")

    def test_restarts_under_load_give_errors_not_wrong_answers_and_both_instances_recover(self):
        cluster = pg_cluster()
        threads = [threading.Thread(target=self.client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        try:
            time.sleep(scaled(1.5))
            for crash in (False, True):
                with self.lock:
                    before = len(self.acked)
                self.assertGreater(before, 0, "no start succeeded under load")
                cluster.kill() if crash else cluster.shutdown()
                time.sleep(scaled(1.5))  # clients meet the database away
                cluster.start()
                # Both recover by themselves; starts succeed again.
                self.healthy_both(timeout=20)
                wait_until(lambda: len(self.acked) > before + CLIENTS, timeout=20,
                           desc="starts acknowledged after the database came back")
        finally:
            self.stop.set()
            for t in threads:
                t.join(timeout=scaled(30))
        self.assertEqual(self.bad[:10], [], f"{len(self.bad)} answers outside the contract")
        self.assertGreater(self.errors, 0, "no client met the database away")

        # New starts work on both instances.
        for server in (self.a, self.b):
            key = "after-" + uuid.uuid4().hex[:8]
            self.assertTrue(self.start(server, key), self.bad)
            server.wait_status(self.acked[key], "completed", timeout=20)

        # Every acknowledged start exists and ends (a paused one when resumed).
        finals = {}
        deadline = time.monotonic() + scaled(30)
        for key, run_id in self.acked.items():
            while True:
                run = self.b.get_run(run_id)
                if run["status"] == "paused":
                    self.assertIn(self.a.control(run_id, "resume").status, (200, 409))
                elif run["status"] in TERMINAL:
                    break
                self.assertLess(time.monotonic(), deadline, f"run {run_id} did not end: {run}")
                time.sleep(0.05)
            self.assertIn(run["status"], ("completed", "cancelled"), run)
            finals[key] = run

        # No step ran more often than its run records attempts.
        with open(self.log) as f:
            lines = f.read().split()
        counts = {}
        for line in lines:
            counts[line] = counts.get(line, 0) + 1
        for key, run in finals.items():
            for step in run["steps"]:
                ran = counts.get(f"{key}-{step['id']}", 0)
                if step["status"] == "completed":
                    self.assertGreaterEqual(ran, 1, (key, step))
                    self.assertLessEqual(ran, step["attempt"], (key, step, run["id"]))
                else:
                    self.assertLessEqual(ran, step.get("attempt", 0), (key, step, run["id"]))
        for server in (self.a, self.b):
            self.assertTrue(server.healthy())

    def test_idle_instances_are_healthy_again_once_the_database_is_back(self):
        cluster = pg_cluster()
        # A write that fails makes an instance unhealthy. It must get past the token
        # check, which reads the database unless the token was seen within a second:
        # the database is killed (fast) right after a request, and again if that was
        # not soon enough.
        for _ in range(5):
            for server in (self.a, self.b):
                self.assertEqual(server.request("GET", "/api/v1/instances").status, 200)
            cluster.kill()
            try:
                for server in (self.a, self.b):
                    resp = server.control("run_01M00000000000000000000000", "pause", {})
                    self.assertError(resp, 503)
                unhealthy = not self.a.healthy() and not self.b.healthy()
            finally:
                cluster.start()
            if unhealthy:
                break
            self.healthy_both(timeout=15)
        self.assertTrue(unhealthy, "no write failed on both instances")
        # Nothing writes now: each finds out by itself that the database answers.
        self.healthy_both(timeout=15)


if __name__ == "__main__":
    unittest.main()
