"""Several instances on one PostgreSQL database (run only with STEPWELL_TEST_STORE=postgres,
as e2e_pg_test_instances): every instance lists the live ones and answers for every run;
a cancel committed on one instance stops the work in flight on the instance that drives
the run; 16 clients sending conflicting controls to two instances end every run one
way; an instance killed with SIGKILL has its runs taken over by another, which runs the
attempt in flight again and no completed step again; an instance frozen past its lease
loses its runs and, thawed, records no result of them (fencing).

Shell steps record each execution in a file (a line per attempt), so that a repeated
step is visible.
"""

import os
import random
import signal
import tempfile
import threading
import time
import unittest

from harness import (E2ETestCase, TERMINAL, find_step, on_postgres, process_dead, scaled,
                     wait_until)


def shell(step_id, script):
    return {"id": step_id, "type": "shell", "with": {"argv": ["sh", "-c", script]}}


@unittest.skipUnless(on_postgres(), "several instances share a PostgreSQL database")
class InstancesTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.a = cls.start_server(extra_args=["--allow-shell"])
        cls.b = cls.start_server(extra_args=["--allow-shell"], instance_of=cls.a)
        cls.c = cls.start_server(extra_args=["--allow-shell"], instance_of=cls.a)
        cls.dir = tempfile.mkdtemp(prefix="stepwell-instances-")

    def test_every_instance_lists_the_live_ones_and_answers_for_every_run(self):
        for server in (self.a, self.b, self.c):
            resp = server.request("GET", "/api/v1/instances")
            self.assertEqual(resp.status, 200, resp)
            items = resp.json["items"]
            self.assertEqual(len(items), 3, items)
            addresses = {f"{s.host}:{s.port}" for s in (self.a, self.b, self.c)}
            self.assertEqual({i["address"] for i in items}, addresses)
            mine = [i for i in items if i["self"]]
            self.assertEqual([i["address"] for i in mine], [f"{server.host}:{server.port}"])
        viewer = self.a.create_token("viewer", "instances-viewer")["token"]
        self.assertError(self.b.request("GET", "/api/v1/instances", token=viewer), 403,
                         "forbidden")

        self.a.put_workflow({"id": "inst-answer", "steps": [{"id": "n", "type": "noop"}]})
        run = self.b.start_run("inst-answer")
        done = self.c.wait_status(run["id"], "completed")
        for server in (self.a, self.b):
            self.assertEqual(server.get_run(run["id"])["status"], "completed")
            self.assertEqual(server.get_run(run["id"])["version"], done["version"])

    def test_cancel_on_one_instance_stops_the_process_on_another(self):
        pid_file = os.path.join(self.dir, "cancel.pid")
        self.a.put_workflow({"id": "inst-cancel", "steps": [
            shell("long", f"echo $$ > {pid_file}; exec sleep 60"),
            {"id": "after", "type": "noop"}]})
        run = self.a.start_run("inst-cancel")
        pid = int(wait_until(lambda: os.path.exists(pid_file) and open(pid_file).read().strip(),
                             desc="the shell step's pid"))
        resp = self.b.control(run["id"], "cancel", {"reason": "from another instance"})
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["status"], "cancelled")
        wait_until(lambda: process_dead(pid), timeout=5, desc="the process on instance a killed")
        run = self.a.wait_status(run["id"], "cancelled")
        self.assertEqual(find_step(run, "after")["status"], "pending", run)  # never ran

    def test_conflicting_controls_from_16_clients_on_two_instances_end_one_way(self):
        self.a.put_workflow({"id": "inst-race", "steps": [
            shell("s1", "sleep 0.2"), shell("s2", "sleep 0.2"), {"id": "n", "type": "noop"}]})
        runs = [self.a.start_run("inst-race")["id"] for _ in range(4)]
        answers = []
        lock = threading.Lock()

        def client(seed):
            rng = random.Random(seed)
            server = (self.a, self.b)[seed % 2]
            for _ in range(12):
                run_id = rng.choice(runs)
                action = rng.choice(["pause", "resume", "resume", "cancel"])
                body = {"reason": f"client {seed}"} if action == "cancel" else {}
                resp = server.control(run_id, action, body)
                with lock:
                    answers.append((action, resp.status, resp.json))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for action, status, body in answers:
            self.assertIn(status, (200, 409), (action, body))
        for run_id in runs:
            run = self.a.get_run(run_id)
            if run["status"] == "paused":
                self.assertEqual(self.b.control(run_id, "resume").status, 200)
            final = self.b.wait_status(run_id, *TERMINAL, timeout=30)
            self.assertIn(final["status"], ("completed", "cancelled"), final)
            for server in (self.a, self.c):
                self.assertEqual(server.get_run(run_id)["status"], final["status"])
            if final["status"] == "cancelled":
                self.assertNotEqual(find_step(final, "n")["status"], "completed", final)
            else:
                for step in final["steps"]:
                    self.assertEqual(step["status"], "completed", final)

    def test_a_killed_instance_runs_are_taken_over_without_repeating_completed_steps(self):
        # Its own pair, so that killing one leaves the other tests' instances alone.
        first = self.start_server(extra_args=["--allow-shell"], instance_of=self.a)
        log = os.path.join(self.dir, "takeover.log")
        first.put_workflow({"id": "inst-takeover", "steps": [
            shell("once", f"echo once >> {log}"),
            shell("slow", f"echo slow >> {log}; sleep 2"),
            {"id": "n", "type": "noop"}]})
        run = first.start_run("inst-takeover")
        first.wait_step(run["id"], "slow", "running")
        # The attempt is in flight once its process has written its line.
        wait_until(lambda: "slow" in open(log).read().split(), desc="the slow step started")
        killed_at = time.monotonic()
        first.kill()
        done = self.b.wait_status(run["id"], *TERMINAL, timeout=30)
        self.assertEqual(done["status"], "completed", done)
        taken_over_in = time.monotonic() - killed_at
        with open(log) as f:
            lines = f.read().split()
        self.assertEqual(lines.count("once"), 1, lines)  # completed: not run again
        self.assertEqual(lines.count("slow"), 2, lines)  # in flight at the kill: again
        # Lease lapse (3 s) + a beat (1 s) + the step's 2 s, with room for a busy machine.
        self.assertLess(taken_over_in, 20, taken_over_in)
        live = self.b.request("GET", "/api/v1/instances").json["items"]
        self.assertNotIn(f"{first.host}:{first.port}", {i["address"] for i in live})

    def test_a_stopped_instance_loses_its_runs_and_cannot_record_a_result_after(self):
        # Fencing: an instance frozen (SIGSTOP) past its lease is taken over; thawed, its
        # attempt's late result is refused and nothing after the step runs twice.
        frozen = self.start_server(extra_args=["--allow-shell"], instance_of=self.a)
        log = os.path.join(self.dir, "fencing.log")
        frozen.put_workflow({"id": "inst-fencing", "steps": [
            shell("slow", f"echo slow >> {log}; sleep 3; echo slow-done >> {log}"),
            shell("after", f"echo after >> {log}")]})
        run = frozen.start_run("inst-fencing")
        wait_until(lambda: os.path.exists(log) and "slow" in open(log).read().split(),
                   desc="the slow step started on the instance about to freeze")
        frozen.proc.send_signal(signal.SIGSTOP)
        try:
            done = self.b.wait_status(run["id"], *TERMINAL, timeout=40)
            self.assertEqual(done["status"], "completed", done)
            version = done["version"]
        finally:
            frozen.proc.send_signal(signal.SIGCONT)
        # Thawed, the frozen instance sees its attempt end and tries to record it; give it
        # time to, and to look at its runs at its next beat.
        wait_until(lambda: frozen.healthy(), desc="the thawed instance answers")
        time.sleep(scaled(3))
        after = self.b.get_run(run["id"])
        self.assertEqual(after["status"], "completed", after)
        self.assertEqual(after["version"], version, after)
        with open(log) as f:
            lines = f.read().split()
        self.assertEqual(lines.count("slow"), 2, lines)  # in flight when frozen: again
        self.assertEqual(lines.count("after"), 1, lines)
        self.assertEqual(find_step(after, "slow")["status"], "completed", after)
        # Stopped gracefully, it leaves the instance list at once (the list test runs later).
        frozen.kill(signal.SIGTERM)


if __name__ == "__main__":
    unittest.main()
