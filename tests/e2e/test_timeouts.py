"""Timeouts of whole runs and of steps whose work is outside the run (a child run, an
agent task), and pausing a run during a retry's back-off. On --fake-clock, so time moves
only when the test says so.

- A `workflow` step's attempt that outlives its `timeout` cancels its child run and
  counts as a failed attempt (`timeout`); the retry starts a new child.
- An `agent_task` step's attempt likewise closes its task: the agent's late `complete`
  is discarded.
- A run's own `timeout` fails it (`run_timeout`) and stops the work in flight.
- A run waiting out a back-off may be paused: the pause holds the next attempt; resume
  brings it back to its back-off.
"""

import unittest

from harness import E2ETestCase, find_step


def sleeper(wf_id):
    return {"id": wf_id, "steps": [{"id": "nap", "type": "sleep", "with": {"duration": "1h"}}]}


class TimeoutsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server(fake_clock=True, extra_args=["--allow-shell"])
        cls.agent_token = cls.server.create_token("agent", "to-agent")["token"]

    def wait_kind(self, run_id, kind, **extra):
        def pred(run):
            wait = run.get("wait") or {}
            return wait.get("kind") == kind and all(wait.get(k) == v for k, v in extra.items())
        return self.server.wait_for(run_id, pred, desc=f"wait.kind {kind} {extra}")

    def test_child_step_timeout_cancels_the_child_and_retries_with_a_new_one(self):
        s = self.server
        s.put_workflow(sleeper("to-leaf"))
        s.put_workflow({"id": "to-parent", "steps": [{
            "id": "call", "type": "workflow", "timeout": "1m",
            "retry": {"max_attempts": 2, "backoff": "fixed", "initial": "5s"},
            "with": {"workflow": "to-leaf"}}]})
        run = s.start_run("to-parent")
        waiting = self.wait_kind(run["id"], "child")
        first_child = waiting["wait"]["child_run_id"]
        self.assertIsNotNone(waiting["wait"]["until"])
        s.wait_status(first_child, "waiting")

        s.advance_clock(61_000)
        backoff = self.wait_kind(run["id"], "retry", attempt=2)
        self.assertEqual(backoff["wait"]["last_error"]["code"], "timeout")
        child = s.wait_status(first_child, "cancelled")
        self.assertEqual(child["cancel"]["by"], "run:" + run["id"])
        self.assertIn("timed out", child["cancel"]["reason"])
        step = find_step(backoff, "call")
        self.assertEqual(step["attempts"][0]["child_run_id"], first_child)
        self.assertEqual(step["attempts"][0]["error"]["code"], "timeout")

        s.advance_clock(5_000)
        second = self.wait_kind(run["id"], "child")
        self.assertNotEqual(second["wait"]["child_run_id"], first_child)
        self.assertEqual(find_step(second, "call")["attempt"], 2)

        s.advance_clock(61_000)
        failed = s.wait_status(run["id"], "failed")
        self.assertEqual(failed["error"]["code"], "timeout")
        self.assertEqual(failed["error"]["step_id"], "call")
        s.wait_status(second["wait"]["child_run_id"], "cancelled")

    def test_agent_task_timeout_closes_the_task_and_discards_a_late_result(self):
        s = self.server
        s.put_workflow({"id": "to-agent", "steps": [{
            "id": "work", "type": "agent_task", "timeout": "2m",
            "with": {"queue": "to-slow", "input": {"n": 1}}}]})
        run = s.start_run("to-agent")
        self.wait_kind(run["id"], "agent")
        claim = s.request("POST", "/api/v1/agents/claim",
                          {"agent_id": "slow", "queues": ["to-slow"], "wait_ms": 5000},
                          token=self.agent_token)
        self.assertEqual(claim.status, 200, claim)
        task_id = claim.json["task"]["id"]

        s.advance_clock(121_000)
        failed = s.wait_status(run["id"], "failed")
        self.assertEqual(failed["error"]["code"], "timeout")
        beat = s.request("POST", f"/api/v1/agent-tasks/{task_id}/heartbeat",
                         {"agent_id": "slow"}, token=self.agent_token)
        self.assertEqual(beat.status, 200, beat)
        self.assertTrue(beat.json["cancelled"])
        late = s.request("POST", f"/api/v1/agent-tasks/{task_id}/complete",
                         {"agent_id": "slow", "output": {"late": True}}, token=self.agent_token)
        self.assertEqual(late.status, 200, late)
        self.assertTrue(late.json["discarded"])
        self.assertIsNone(s.get_run(run["id"])["output"])

    def test_run_timeout_fails_the_run_and_stops_its_process(self):
        s = self.server
        s.put_workflow({"id": "to-run", "timeout": "10m", "steps": [
            {"id": "long", "type": "shell", "with": {"argv": ["sleep", "600"]}},
            {"id": "never", "type": "noop", "with": {"value": 1}}]})
        run = s.start_run("to-run")
        s.wait_step(run["id"], "long", "running")
        s.advance_clock(601_000)
        failed = s.wait_status(run["id"], "failed")
        self.assertEqual(failed["error"]["code"], "run_timeout")
        self.assertIn("10m", failed["error"]["message"])
        long_step = find_step(failed, "long")
        self.assertEqual(long_step["status"], "cancelled")
        self.assertEqual(find_step(failed, "never")["status"], "pending")

    def test_run_timeout_cancels_the_runs_children(self):
        s = self.server
        s.put_workflow(sleeper("to-deep"))
        s.put_workflow({"id": "to-mid", "steps": [
            {"id": "down", "type": "workflow", "with": {"workflow": "to-deep"}}]})
        s.put_workflow({"id": "to-top", "timeout": "5m", "steps": [
            {"id": "down", "type": "workflow", "with": {"workflow": "to-mid"}}]})
        run = s.start_run("to-top")
        mid = self.wait_kind(run["id"], "child")["wait"]["child_run_id"]
        deep = self.wait_kind(mid, "child")["wait"]["child_run_id"]
        s.wait_status(deep, "waiting")
        s.advance_clock(301_000)
        self.assertEqual(s.wait_status(run["id"], "failed")["error"]["code"], "run_timeout")
        for rid in (mid, deep):
            cancelled = s.wait_status(rid, "cancelled")
            self.assertEqual(cancelled["cancel"]["reason"], "parent run timed out")

    def test_pause_during_a_backoff_holds_the_next_attempt(self):
        s = self.server
        s.put_workflow({"id": "to-pause", "steps": [{
            "id": "flaky", "type": "shell", "with": {"argv": ["false"]},
            "retry": {"max_attempts": 3, "backoff": "fixed", "initial": "10s"}}]})
        run = s.start_run("to-pause")
        waiting = self.wait_kind(run["id"], "retry", attempt=2)
        self.assertEqual(waiting["allowed_actions"], ["pause", "cancel"])

        paused = s.control(run["id"], "pause")
        self.assertEqual(paused.status, 200, paused)
        self.assertEqual(paused.json["status"], "paused")
        self.assertEqual(paused.json["allowed_actions"], ["resume", "cancel"])
        # Held: once the back-off's timer has come and gone, still paused, still one
        # attempt made.
        s.advance_clock_and_settle(30_000)
        now = s.get_run(run["id"])
        self.assertEqual(now["status"], "paused")
        self.assertEqual(find_step(now, "flaky")["attempt"], 1)

        resumed = s.control(run["id"], "resume")
        self.assertEqual(resumed.status, 200, resumed)
        self.assertEqual(resumed.json["status"], "waiting")
        # Its back-off is over: the next attempt runs (and fails into the next back-off).
        self.wait_kind(run["id"], "retry", attempt=3)

    def test_pause_is_still_refused_for_other_waits(self):
        s = self.server
        s.put_workflow(sleeper("to-nap"))
        run = s.start_run("to-nap")
        waiting = s.wait_status(run["id"], "waiting")
        self.assertEqual(waiting["allowed_actions"], ["cancel"])
        refused = s.control(run["id"], "pause")
        self.assertEqual(refused.status, 409, refused)
        self.assertEqual(refused.json["error"]["code"], "invalid_transition")


if __name__ == "__main__":
    unittest.main()
