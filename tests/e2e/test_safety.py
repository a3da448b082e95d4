"""The throughput breaker: a workflow whose runs dispatch more step attempts (or start
more runs) per minute than its limits allow becomes `paused_safety` / `throughput_cap`
at the dispatch that would exceed, notifies once, holds every run of the workflow where
it stands (new runs stay pending, a woken timer does not move its run), survives a
kill -9, and goes on with a fresh window after POST /api/v1/workflows/{wf}/resume.

On --fake-clock: the clock stands still, so every dispatch falls in one window.
"""

import unittest

from harness import E2ETestCase, noop, wait_until

MESSAGE = "tripped the throughput cap (likely a loop or polling misconfig)"


def runaway(wf_id, limits):
    return {"id": wf_id, "limits": limits, "steps": [
        {"id": "l", "type": "loop", "with": {"max_iterations": 100000},
         "steps": [noop("n", {"x": 1})]}]}


class ThroughputBreakerTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server(fake_clock=True)

    def workflow(self, wf_id):
        resp = self.server.request("GET", f"/api/v1/workflows/{wf_id}")
        self.assertEqual(resp.status, 200, resp)
        return resp.json

    def wait_paused(self, wf_id):
        wait_until(lambda: self.workflow(wf_id)["status"] == "paused_safety", 30,
                   f"{wf_id} to be paused_safety")
        self.server.wait_engine_idle()
        return self.workflow(wf_id)

    def noops_done(self, run_id):
        run = self.server.get_run(run_id)
        return sum(1 for st in run["steps"] if st["id"] == "n" and st["status"] == "completed")

    def notifications(self, kind):
        items = self.server.list_all("/api/v1/notifications")
        return [n for n in items if n["kind"] == kind]

    def resume(self, wf_id):
        return self.server.request("POST", f"/api/v1/workflows/{wf_id}/resume")

    def test_limits_are_validated(self):
        s = self.server
        for limits in ({"max_steps_per_minute": 0}, {"max_runs_per_minute": -1},
                       {"max_steps_per_minute": 1.5}, {"max_steps_per_minute": "10"},
                       {"max_dispatches": 10}, {"max_steps_per_minute": 10**9}):
            resp = s.request("PUT", "/api/v1/workflows/sf-bad", runaway("sf-bad", limits))
            self.assertError(resp, 400, "invalid_definition")
        s.put_workflow(runaway("sf-good", {"max_steps_per_minute": 10, "max_runs_per_minute": 2}))
        wf = self.workflow("sf-good")
        self.assertEqual(wf["status"], "active")
        self.assertIsNone(wf["safety"])

    def test_resume_when_not_paused_is_409(self):
        s = self.server
        s.put_workflow({"id": "sf-calm", "steps": [noop("a", 1)]})
        self.assertError(self.resume("sf-calm"), 409, "invalid_transition")
        self.assertError(self.resume("sf-nope"), 404)

    def test_runaway_loop_trips_holds_and_resumes(self):
        s = self.server
        s.put_workflow(runaway("sf-loop", {"max_steps_per_minute": 50}))
        run = s.start_run("sf-loop")
        wf = self.wait_paused("sf-loop")
        self.assertEqual(wf["safety"]["reason"], "throughput_cap")
        self.assertEqual(wf["safety"]["message"], MESSAGE)
        self.assertIsInstance(wf["safety"]["tripped_at"], str)
        self.assertEqual(self.noops_done(run["id"]), 50)
        held = s.get_run(run["id"])
        self.assertEqual(held["status"], "running")
        self.assertEqual(held["workflow_safety"], {"reason": "throughput_cap", "message": MESSAGE})
        listed = [w for w in s.list_all("/api/v1/workflows") if w["id"] == "sf-loop"]
        self.assertEqual(listed[0]["status"], "paused_safety")
        trips = [n for n in self.notifications("throughput_cap") if "sf-loop" in n["title"]]
        self.assertEqual(len(trips), 1, trips)
        audit = s.request("GET", "/api/v1/audit?target=sf-loop").json["items"]
        self.assertEqual([a["actor"] for a in audit if a["action"] == "workflow.paused_safety"],
                         ["system"])

        # New runs are accepted and stay pending; runs of other workflows go on.
        newer = s.start_run("sf-loop")
        self.assertEqual(newer["status"], "pending")
        self.assertEqual(newer["workflow_safety"]["reason"], "throughput_cap")
        s.wait_engine_idle()
        self.assertEqual(s.get_run(newer["id"])["status"], "pending")
        listed_runs = s.list_all("/api/v1/runs?workflow_id=sf-loop")
        self.assertTrue(all(r["workflow_safety"]["message"] == MESSAGE for r in listed_runs))
        s.put_workflow({"id": "sf-other", "steps": [noop("a", 1)]})
        self.assertEqual(s.run_and_wait("sf-other")["status"], "completed")

        # A restart keeps the pause, and nothing dispatches.
        s.restart()
        s.wait_engine_idle()
        self.assertEqual(self.workflow("sf-loop")["status"], "paused_safety")
        self.assertEqual(self.noops_done(run["id"]), 50)
        self.assertEqual(s.get_run(newer["id"])["status"], "pending")
        trips = [n for n in self.notifications("throughput_cap") if "sf-loop" in n["title"]]
        self.assertEqual(len(trips), 1, trips)

        # Resume: a fresh window of 50, counted across both runs, then the next trip.
        resp = self.resume("sf-loop")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["status"], "active")
        self.assertIsNone(resp.json["safety"])
        self.wait_paused("sf-loop")
        self.assertEqual(self.noops_done(run["id"]) + self.noops_done(newer["id"]), 100)
        # Which run the fresh window's 50 dispatches went to is the scheduler's choice: the
        # newer run is running once it dispatched a step, and still pending otherwise.
        self.assertEqual(s.get_run(newer["id"])["status"],
                         "running" if self.noops_done(newer["id"]) > 0 else "pending")
        trips = [n for n in self.notifications("throughput_cap") if "sf-loop" in n["title"]]
        self.assertEqual(len(trips), 2, trips)

    def test_waiting_run_stays_parked_until_resume(self):
        s = self.server
        s.put_workflow({"id": "sf-mixed", "limits": {"max_steps_per_minute": 20}, "steps": [
            {"id": "branch", "type": "switch", "with": {
                "cases": [{"when": "${{ input.sleep == true }}", "steps": [
                    {"id": "nap", "type": "sleep", "with": {"duration": "10s"}},
                    noop("after", 1)]}],
                "default": [{"id": "l", "type": "loop", "with": {"max_iterations": 100000},
                             "steps": [noop("n", 1)]}]}}]})
        sleeper = s.start_run("sf-mixed", {"sleep": True})
        s.wait_status(sleeper["id"], "waiting")
        loop = s.start_run("sf-mixed", {"sleep": False})
        self.wait_paused("sf-mixed")
        s.advance_clock_and_settle(11_000)
        s.wait_engine_idle()
        parked = s.get_run(sleeper["id"])
        self.assertEqual(parked["status"], "waiting", parked)
        self.assertEqual(parked["workflow_safety"]["reason"], "throughput_cap")
        # The runaway itself is cancelled first: resumed, it would trip again at once.
        self.assertEqual(s.control(loop["id"], "cancel").status, 200)
        self.assertEqual(self.resume("sf-mixed").status, 200)
        done = s.wait_status(sleeper["id"], "completed")
        self.assertIsNone(done["workflow_safety"])

    def test_runs_per_minute(self):
        s = self.server
        s.put_workflow({"id": "sf-runs", "limits": {"max_runs_per_minute": 3},
                        "steps": [noop("a", 1)]})
        first = [s.run_and_wait("sf-runs") for _ in range(3)]
        self.assertEqual([r["status"] for r in first], ["completed"] * 3)
        fourth = s.start_run("sf-runs")
        wf = self.wait_paused("sf-runs")
        self.assertEqual(wf["safety"]["reason"], "throughput_cap")
        self.assertEqual(wf["safety"]["message"], MESSAGE)
        fifth = s.start_run("sf-runs")
        s.wait_engine_idle()
        for held in (fourth, fifth):
            run = s.get_run(held["id"])
            self.assertEqual(run["status"], "pending")
            self.assertEqual(run["workflow_safety"]["message"], MESSAGE)
        self.assertEqual(self.resume("sf-runs").status, 200)
        for held in (fourth, fifth):
            self.assertEqual(s.wait_status(held["id"], "completed")["status"], "completed")
        self.assertEqual(self.workflow("sf-runs")["status"], "active")
        self.assertEqual(len([n for n in self.notifications("throughput_cap")
                              if "sf-runs" in n["title"]]), 1)

    def test_disable_while_paused(self):
        s = self.server
        s.put_workflow(runaway("sf-dis", {"max_steps_per_minute": 5}))
        s.start_run("sf-dis")
        self.wait_paused("sf-dis")
        resp = s.request("POST", "/api/v1/workflows/sf-dis/status", {"status": "disabled"})
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["status"], "paused_safety")
        self.assertError(s.request("POST", "/api/v1/workflows/sf-dis/runs", {"input": {}}), 409,
                         "workflow_disabled")
        resumed = self.resume("sf-dis")
        self.assertEqual(resumed.status, 200, resumed)
        self.assertEqual(resumed.json["status"], "disabled")


if __name__ == "__main__":
    unittest.main()
