"""Crash and restart: SIGKILL the server in the middle of runs (an HTTP step in flight,
many noop steps, sleep and event waits, a paused run, runs being started), restart on
the same data directory and check that nothing committed is lost, nothing completed
runs again, paused stays paused and waits go on.

The local target counts hits per path; every step that calls it has its own path, so
"ran exactly once" is a hit count.

The server runs on --fake-clock, which starts at the real time with each process and
stands still otherwise: a timer due 1 ms after a process's time never comes due while
that process lives, and is overdue when the next one starts, with no wall-clock wait.
"""

import http.client
import os
import signal
import stat
import threading
import time
import unittest
from datetime import datetime, timezone

from harness import (E2ETestCase, TERMINAL, find_step, http_step, noop, parse_time, scaled,
                     wait_until)

STEPS_TEN = {"id": "rs-ten", "steps": [noop(f"s{i}", {"step": i, "v": "ok"}) for i in range(10)]}
STEPS_MANY = {"id": "rs-many", "steps": [noop(f"n{i}", {"i": i}) for i in range(60)]}


class RestartTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = cls.start_target()
        cls.server = cls.start_server(allow_private_targets=True, fake_clock=True)
        cls.server.put_workflow(STEPS_TEN)
        cls.server.put_workflow(STEPS_MANY)

    def http_workflow(self, wf, names, blocked=(), sleep=None, event=None):
        """A workflow of http steps named `names`, each with its own target path.
        `sleep=(after_step, duration)` / `event=(after_step, event_type)` insert a
        sleep / wait_for_event step after the named step."""
        t = self.target
        paths, steps = {}, []
        for name in names:
            paths[name] = t.route(t.unique_path(f"{wf}-{name}"), body={"step": name},
                                  block=name in blocked)
            if name in blocked:
                self.addCleanup(t.release, paths[name])
            steps.append(http_step(name, t.url(paths[name]), timeout="1h"))
            if sleep and sleep[0] == name:
                steps.append({"id": "nap", "type": "sleep", "with": {"duration": sleep[1]}})
            if event and event[0] == name:
                steps.append({"id": "ev", "type": "wait_for_event",
                              "with": {"event_type": event[1]}})
        self.server.put_workflow({"id": wf, "steps": steps})
        return paths

    def hits(self, paths):
        return {name: self.target.hits(path) for name, path in paths.items()}

    def test_sigkill_mid_flight_then_restart(self):
        s, t = self.server, self.target

        # Finished before the crash.
        completed = [s.run_and_wait("rs-ten") for _ in range(3)]
        for run in completed:
            self.assertEqual(run["status"], "completed")
        cancelled = s.start_run("rs-ten")
        resp = s.control(cancelled["id"], "cancel", {"reason": "before the crash"})
        if resp.status == 200:
            cancelled = s.get_run(cancelled["id"])
        else:
            cancelled = s.wait_status(cancelled["id"], *TERMINAL)
        ops = s.create_token("operator", "rs-ops")
        keyed = s.start_run("rs-ten", {"k": 1}, headers={"Idempotency-Key": "rs-key"})

        # An HTTP step in flight.
        flight = self.http_workflow("rs-flight", ["a", "b", "c"], blocked={"b"})
        in_flight = s.start_run("rs-flight")
        t.wait_for_request(flight["b"])

        # A paused run whose step in flight finished while paused.
        pz = self.http_workflow("rs-paused", ["p1", "p2"], blocked={"p1"})
        paused = s.start_run("rs-paused")
        t.wait_for_request(pz["p1"])
        self.assertStatus(s.control(paused["id"], "pause"), 200)
        t.release(pz["p1"])
        s.wait_step(paused["id"], "p1", "completed")
        paused_before = s.get_run(paused["id"])
        self.assertEqual(paused_before["status"], "paused")

        # Waiting on an event, on a long timer, and an event buffered for a later wait.
        ev = self.http_workflow("rs-event", ["e1", "e2"], event=("e1", "go"))
        on_event = s.start_run("rs-event")
        s.wait_status(on_event["id"], "waiting")
        sl = self.http_workflow("rs-sleep", ["s1", "s2"], sleep=("s1", "1h"))
        on_timer = s.start_run("rs-sleep")
        on_timer_before = s.wait_status(on_timer["id"], "waiting")
        s.put_workflow({"id": "rs-buffered", "steps": [
            {"id": "w1", "type": "wait_for_event", "with": {"event_type": "first"}},
            {"id": "w2", "type": "wait_for_event", "with": {"event_type": "second"}}]})
        buffered = s.start_run("rs-buffered")
        s.wait_status(buffered["id"], "waiting")
        self.assertEqual(self.assertStatus(s.send_event(buffered["id"], "second", {"n": 2}), 202),
                         {"delivered": False})

        # Runs with many steps, started just before the crash.
        many = [s.start_run("rs-many")["id"] for _ in range(5)]

        # A timer that comes due while the server is down: this process's fake clock,
        # which stands still, never reaches it; the next one's (the real time) is past it.
        due = self.http_workflow("rs-due", ["t1", "t2"], sleep=("t1", "1ms"))
        due_run = s.start_run("rs-due")
        due_waiting = s.wait_status(due_run["id"], "waiting")
        due_until = parse_time(due_waiting["wait"]["until"])

        hits_before = self.hits({**flight, **pz, **ev, **sl, **due})
        s.kill(signal.SIGKILL)
        # The crash closed the connection of the step in flight.
        t.wait_for_hangup(flight["b"], timeout=5)
        t.release(flight["b"])
        wait_until(lambda: datetime.now(timezone.utc) > due_until, timeout=5,
                   desc="the real time to pass the timer")
        restarted_at = time.monotonic()
        s.start()

        # The due timer fires at once.
        done = s.wait_status(due_run["id"], *TERMINAL, timeout=10)
        self.assertLess(time.monotonic() - restarted_at, scaled(5))
        self.assertEqual(done["status"], "completed")
        self.assertEqual(self.hits(due), {"t1": 1, "t2": 1})

        # Nothing committed is lost.
        for run in completed:
            again = s.get_run(run["id"])
            self.assertEqual(again["status"], "completed")
            self.assertEqual(again["output"], {"step": 9, "v": "ok"})
            self.assertEqual(again["version"], run["version"])
            self.assertEqual([(st["path"], st["status"], st["output"]) for st in again["steps"]],
                             [(st["path"], st["status"], st["output"]) for st in run["steps"]])
        again = s.get_run(cancelled["id"])
        self.assertEqual((again["status"], again["version"], again["cancel"]),
                         (cancelled["status"], cancelled["version"], cancelled["cancel"]))
        self.assertStatus(s.api("GET", "/api/v1/runs?limit=1", token=ops["token"]), 200)
        resp = s.api("POST", "/api/v1/workflows/rs-ten/runs", {"input": {"k": 1}},
                     headers={"Idempotency-Key": "rs-key"})
        self.assertEqual(self.assertStatus(resp, 201)["id"], keyed["id"])

        # The step in flight runs again (it never completed); completed ones do not.
        done = s.wait_status(in_flight["id"], *TERMINAL, timeout=15)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["output"]["body"], {"step": "c"})
        self.assertEqual(hits_before["a"], 1)
        self.assertEqual(self.hits(flight), {"a": 1, "b": 2, "c": 1})
        self.assertEqual(find_step(done, "a")["attempt"], 1)

        for rid in many:
            done = s.wait_status(rid, *TERMINAL, timeout=15)
            self.assertEqual(done["status"], "completed", done)
            self.assertEqual(done["output"], {"i": 59})
            self.assertEqual(len(done["steps"]), 60)
            self.assertEqual({st["status"] for st in done["steps"]}, {"completed"})
            self.assertEqual([st["output"] for st in done["steps"]],
                             [{"i": i} for i in range(60)])

        # Paused stays paused; nothing new started: the runs the restart took up are
        # done with, and it never took this one up.
        s.wait_engine_idle()
        again = s.get_run(paused["id"])
        self.assertEqual(again["status"], "paused")
        self.assertEqual(t.hits(pz["p2"]), 0)
        self.assertEqual(again["pause"], paused_before["pause"])
        self.assertEqual(find_step(again, "p1")["output"], find_step(paused_before, "p1")["output"])
        self.assertEqual(self.assertStatus(s.control(paused["id"], "resume"), 200)["status"],
                         "running")
        done = s.wait_status(paused["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed")
        self.assertEqual(self.hits(pz), {"p1": 1, "p2": 1})

        # The event wait goes on.
        again = s.get_run(on_event["id"])
        self.assertEqual(again["status"], "waiting")
        self.assertEqual(again["wait"]["kind"], "event")
        self.assertEqual(self.assertStatus(s.send_event(on_event["id"], "go", {"x": 1}), 202),
                         {"delivered": True})
        done = s.wait_status(on_event["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed")
        self.assertEqual(find_step(done, "ev")["output"], {"payload": {"x": 1}})
        self.assertEqual(self.hits(ev), {"e1": 1, "e2": 1})

        # The buffered event survived the crash.
        self.assertStatus(s.send_event(buffered["id"], "first", {"n": 1}), 202)
        done = s.wait_status(buffered["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed")
        self.assertEqual(done["output"], {"payload": {"n": 2}})

        # The long timer keeps its due time.
        again = s.get_run(on_timer["id"])
        self.assertEqual(again["status"], "waiting")
        self.assertEqual(again["wait"], on_timer_before["wait"])
        self.assertEqual(self.hits(sl), {"s1": 1, "s2": 0})
        self.assertStatus(s.control(on_timer["id"], "cancel"), 200)

    def test_sigkill_while_runs_are_being_started(self):
        s = self.server
        accepted, stop = [], threading.Event()

        def starter():
            while not stop.is_set():
                try:
                    resp = s.api("POST", "/api/v1/workflows/rs-ten/runs", {"input": {}},
                                 timeout=5)
                except (OSError, http.client.HTTPException):
                    return
                if resp.status == 201:
                    accepted.append(resp.json["id"])

        threads = [threading.Thread(target=starter, daemon=True) for _ in range(4)]
        for th in threads:
            th.start()
        wait_until(lambda: len(accepted) >= 40, timeout=20, desc="40 runs to be accepted")
        s.kill(signal.SIGKILL)
        stop.set()
        for th in threads:
            th.join(scaled(10))
            self.assertFalse(th.is_alive())
        ids = list(accepted)
        s.start()
        for rid in ids:
            done = s.wait_status(rid, *TERMINAL, timeout=20)
            self.assertEqual(done["status"], "completed", done)
            self.assertEqual(done["output"], {"step": 9, "v": "ok"})
            self.assertEqual([st["attempt"] >= 1 for st in done["steps"]], [True] * 10)

    def test_sigterm_keeps_state(self):
        s = self.server
        s.put_workflow({"id": "rs-term", "steps": [
            {"id": "w", "type": "wait_for_event", "with": {"event_type": "go"}},
            noop("after", "${{ steps.w.output.payload }}")]})
        run = s.start_run("rs-term")
        before = s.wait_status(run["id"], "waiting")
        s.kill(signal.SIGTERM, timeout=10)
        s.start()
        again = s.get_run(run["id"])
        self.assertEqual((again["status"], again["wait"]), ("waiting", before["wait"]))
        self.assertStatus(s.send_event(run["id"], "go", "after-term"), 202)
        self.assertEqual(s.wait_status(run["id"], *TERMINAL)["output"], "after-term")

    def test_admin_token_file(self):
        s = self.server
        path = os.path.join(s.data_dir, "admin-token")
        mode = stat.S_IMODE(os.stat(path).st_mode)
        self.assertEqual(mode, 0o600, oct(mode))
        with open(path, encoding="utf-8") as f:
            self.assertEqual(f.read().strip(), s.admin_token)
        s.restart(signal.SIGKILL)
        with open(path, encoding="utf-8") as f:
            self.assertEqual(f.read().strip(), s.admin_token)
        self.assertStatus(s.api("GET", "/api/v1/workflows"), 200)


if __name__ == "__main__":
    unittest.main()
