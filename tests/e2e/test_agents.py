"""Agent tasks (the `agent_task` step) and the agent protocol: claim (long-poll), heartbeat,
complete, fail; leases on the fake clock; retries; cancellation and discarded results;
role checks and bad bodies; and the example agent (examples/agent.py) as a real process.
"""

import os
import subprocess
import sys
import time
import unittest
from datetime import timedelta

from harness import (REPO_ROOT, E2ETestCase, PendingRequest, TERMINAL, find_step, noop,
                     parse_time, scaled, wait_until)

EXAMPLE_AGENT = REPO_ROOT / "examples" / "agent.py"
LEASE = timedelta(seconds=30)


def agent_step(step_id, queue, input=None, **fields):
    step = {"id": step_id, "type": "agent_task", "with": {"queue": queue}}
    if input is not None:
        step["with"]["input"] = input
    step.update(fields)
    return step


def waits_on_agent(run):
    return run["status"] == "waiting" and (run.get("wait") or {}).get("kind") == "agent"


class AgentsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server(fake_clock=True)
        cls.agent = cls.server.create_token("agent", "bot")["token"]

    # Protocol helpers: the raw responses.
    def claim(self, agent_id, queues, wait_ms=0, token=None):
        return self.server.request(
            "POST", "/api/v1/agents/claim",
            {"agent_id": agent_id, "queues": queues, "wait_ms": wait_ms},
            token=token or self.agent, timeout=wait_ms / 1000 + 30)

    def task_call(self, task_id, op, body, token=None):
        return self.server.request("POST", f"/api/v1/agent-tasks/{task_id}/{op}", body,
                                   token=token or self.agent)

    def claim_task(self, agent_id, queue, wait_ms=5000):
        resp = self.claim(agent_id, [queue], wait_ms)
        self.assertStatus(resp, 200)
        return resp.json["task"]

    def start_waiting(self, wf, queue, input=None, **fields):
        s = self.server
        s.put_workflow({"id": wf, "steps": [agent_step("work", queue, input, **fields),
                                            noop("after", "${{ steps.work.output }}")]})
        run = s.start_run(wf, {"who": wf})
        return s.wait_for(run["id"], waits_on_agent, desc="the run to wait on an agent")

    # ------------------------------------------------------------- basic flow

    def test_claim_and_complete(self):
        s = self.server
        run = self.start_waiting("ag-basic", "ag-basic-q", {"job": "${{ input.who }}", "n": 7})
        wait = run["wait"]
        self.assertEqual(wait["kind"], "agent")
        self.assertEqual(wait["step_id"], "work")
        self.assertEqual(wait["queue"], "ag-basic-q")
        self.assertIsNone(wait["until"])
        self.assertEqual(run["allowed_actions"], ["cancel"])
        self.assertEqual(find_step(run, "work")["task_id"], wait["task_id"])
        listed = s.list_all("/api/v1/runs?wait_kind=agent&workflow_id=ag-basic")
        self.assertEqual([r["id"] for r in listed], [run["id"]])

        task = self.claim_task("agent-a", "ag-basic-q")
        self.assertEqual(set(task), {"id", "run_id", "step_id", "queue", "input", "attempt",
                                     "lease_expires_at"})
        self.assertEqual(task["id"], wait["task_id"])
        self.assertEqual(task["run_id"], run["id"])
        self.assertEqual(task["step_id"], "work")
        self.assertEqual(task["queue"], "ag-basic-q")
        self.assertEqual(task["input"], {"job": "ag-basic", "n": 7})
        self.assertEqual(task["attempt"], 1)
        now = s.fake_now()
        lease = parse_time(task["lease_expires_at"])
        self.assertTrue(now < lease <= now + LEASE, (now, lease))
        # Claimed tasks are not handed out twice.
        self.assertEqual(self.claim("agent-b", ["ag-basic-q"], 0).status, 204)

        resp = self.task_call(task["id"], "complete",
                              {"agent_id": "agent-a", "output": {"result": [1, 2]}})
        self.assertEqual(self.assertStatus(resp, 200), {"discarded": False})
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["output"], {"result": [1, 2]})
        step = find_step(done, "work")
        self.assertEqual(step["status"], "completed")
        self.assertEqual(step["output"], {"result": [1, 2]})
        self.assertFalse(step["result_discarded"])
        # A second complete does not change anything.
        again = self.task_call(task["id"], "complete", {"agent_id": "agent-a", "output": 2})
        self.assertIn(again.status, (200, 409), again)
        if again.status == 200:
            self.assertEqual(again.json, {"discarded": True})
        self.assertEqual(s.get_run(run["id"])["output"], {"result": [1, 2]})

    def test_claim_takes_any_of_several_queues(self):
        run = self.start_waiting("ag-multi", "ag-multi-2", {"x": 1})
        task = self.claim_task("agent-a", ["ag-multi-1", "ag-multi-2"][1])
        self.assertEqual(task["run_id"], run["id"])
        resp = self.claim("agent-a", ["ag-multi-1", "ag-multi-2"], 0)
        self.assertEqual(resp.status, 204, resp)
        run2 = self.start_waiting("ag-multi-b", "ag-multi-1", {"x": 2})
        resp = self.claim("agent-a", ["ag-multi-1", "ag-multi-2"], 5000)
        self.assertEqual(self.assertStatus(resp, 200)["task"]["run_id"], run2["id"])

    # --------------------------------------------------------------- long-poll

    def test_claim_long_poll_times_out_with_204(self):
        started = time.monotonic()
        resp = self.claim("agent-a", ["ag-empty-q"], 400)
        elapsed = time.monotonic() - started
        self.assertEqual(resp.status, 204, resp)
        self.assertEqual(resp.body, b"")
        self.assertGreaterEqual(elapsed, 0.35)
        resp = self.claim("agent-a", ["ag-empty-q"], 0)
        self.assertEqual(resp.status, 204, resp)

    def pending_claim(self, agent_id, queue, wait_ms):
        """A claim sent on a socket of its own, once the server holds it (the server has
        read it, and there is nothing in `queue` to answer it with)."""
        claim = PendingRequest(self.server, "POST", "/api/v1/agents/claim",
                               {"agent_id": agent_id, "queues": [queue], "wait_ms": wait_ms},
                               token=self.agent, timeout=wait_ms / 1000 + 30)
        self.addCleanup(claim.close)
        claim.wait_read_by_server()
        return claim

    def test_claim_wakes_when_a_task_is_queued(self):
        s = self.server
        s.put_workflow({"id": "ag-wake", "steps": [agent_step("work", "ag-wake-q", {"w": 1})]})
        claim = self.pending_claim("agent-a", "ag-wake-q", 30000)
        run = s.start_run("ag-wake")
        queued_at = time.monotonic()
        resp = claim.response()
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["task"]["run_id"], run["id"])
        # Woken by the new task, not by the end of wait_ms (30 s).
        self.assertLess(time.monotonic() - queued_at, scaled(10))

    def test_claim_of_a_client_that_hung_up_does_not_take_the_task(self):
        """An agent that stops (or loses its connection) while its claim long-polls must
        not be handed the next task: nobody would work on it until the lease lapses,
        and a step without retry would then fail with lease_expired."""
        s = self.server
        s.put_workflow({"id": "ag-hangup", "steps": [agent_step("work", "ag-hangup-q", {})]})
        claim = self.pending_claim("gone", "ag-hangup-q", 30000)
        claim.hang_up()  # the agent is gone
        # The server closes its end without an answer: it noticed, and dropped the claim.
        self.assertEqual(claim.wait_closed_by_server(), b"")
        run = s.start_run("ag-hangup")
        s.wait_for(run["id"], waits_on_agent)
        resp = self.claim("agent-b", ["ag-hangup-q"], 5000)
        self.assertEqual(resp.status, 200, f"the task went to the agent that hung up: {resp!r}")
        self.assertEqual(resp.json["task"]["run_id"], run["id"])

    # ---------------------------------------------------------------- auth

    def test_other_roles_are_refused_on_agent_routes(self):
        s = self.server
        run = self.start_waiting("ag-roles", "ag-roles-q", {"r": 1})
        task_id = run["wait"]["task_id"]
        for role in ("viewer", "operator", "admin"):
            token = s.create_token(role, f"ag-{role}")["token"]
            with self.subTest(role=role):
                self.assertError(self.claim("x", ["ag-roles-q"], 0, token=token), 403,
                                 "forbidden")
                for op, body in (("heartbeat", {"agent_id": "x"}),
                                 ("complete", {"agent_id": "x", "output": 1}),
                                 ("fail", {"agent_id": "x", "error": {"message": "m"}})):
                    self.assertError(self.task_call(task_id, op, body, token=token), 403,
                                     "forbidden")
        # The built-in admin token too.
        self.assertError(s.request("POST", "/api/v1/agents/claim",
                                   {"agent_id": "x", "queues": ["ag-roles-q"], "wait_ms": 0}),
                         403, "forbidden")
        # Nothing was claimed by those attempts.
        self.assertEqual(self.claim_task("agent-a", "ag-roles-q")["id"], task_id)
        self.assertEqual(self.task_call(task_id, "complete",
                                        {"agent_id": "agent-a", "output": 1}).json,
                         {"discarded": False})

    def test_agent_token_is_refused_elsewhere(self):
        s = self.server
        s.put_workflow({"id": "ag-elsewhere", "steps": [noop("n", 1)]})
        run = s.run_and_wait("ag-elsewhere")
        calls = [("GET", "/api/v1/runs", None),
                 ("GET", f"/api/v1/runs/{run['id']}", None),
                 ("GET", "/api/v1/workflows", None),
                 ("POST", "/api/v1/workflows/ag-elsewhere/runs", {"input": {}}),
                 ("POST", f"/api/v1/runs/{run['id']}/cancel", {}),
                 ("PUT", "/api/v1/workflows/ag-by-agent", {"id": "ag-by-agent", "steps": [
                     noop("n", 1)]}),
                 ("POST", "/api/v1/tokens", {"role": "agent", "name": "more"})]
        for method, path, body in calls:
            with self.subTest(method=method, path=path):
                self.assertError(s.request(method, path, body, token=self.agent), 403,
                                 "forbidden")

    def test_no_token_is_401(self):
        s = self.server
        resp = s.request("POST", "/api/v1/agents/claim",
                         {"agent_id": "x", "queues": ["q"], "wait_ms": 0}, token=None)
        self.assertError(resp, 401, "unauthorized")

    # ----------------------------------------------------------- bad bodies

    def test_bad_claim_bodies(self):
        s = self.server
        bad = [
            {"agent_id": "a", "queues": ["q"], "wait_ms": 0, "extra": 1},
            {"agent_id": "a", "queues": "q", "wait_ms": 0},
            {"agent_id": "a", "queues": [], "wait_ms": 0},
            {"agent_id": "a", "queues": [1], "wait_ms": 0},
            {"agent_id": "a", "queues": ["Not A Slug"], "wait_ms": 0},
            {"agent_id": "a", "wait_ms": 0},
            {"queues": ["q"], "wait_ms": 0},
            {"agent_id": "", "queues": ["q"], "wait_ms": 0},
            {"agent_id": 5, "queues": ["q"], "wait_ms": 0},
            {"agent_id": "a", "queues": ["q"], "wait_ms": -1},
            {"agent_id": "a", "queues": ["q"], "wait_ms": 60001},
            {"agent_id": "a", "queues": ["q"], "wait_ms": 1.5},
            {"agent_id": "a", "queues": ["q"], "wait_ms": "100"},
            [],
            "claim",
        ]
        for body in bad:
            with self.subTest(body=body):
                resp = s.request("POST", "/api/v1/agents/claim", body, token=self.agent)
                self.assertError(resp, 400, "invalid_request")
        resp = s.request("POST", "/api/v1/agents/claim", raw_body="{not json",
                         token=self.agent)
        self.assertError(resp, 400)
        self.assertTrue(s.healthy())

    def test_bad_task_bodies(self):
        s = self.server
        run = self.start_waiting("ag-bad-bodies", "ag-bad-q", {"b": 1})
        task = self.claim_task("agent-a", "ag-bad-q")
        bad = [
            ("heartbeat", {"agent_id": "agent-a", "extra": True}),
            ("heartbeat", {"agent_id": 3}),
            ("complete", {"agent_id": "agent-a"}),
            ("complete", {"agent_id": "agent-a", "output": 1, "status": "ok"}),
            ("fail", {"agent_id": "agent-a"}),
            ("fail", {"agent_id": "agent-a", "error": "boom"}),
            ("fail", {"agent_id": "agent-a", "error": {"retryable": False}}),
            ("fail", {"agent_id": "agent-a", "error": {"message": 5}}),
            ("fail", {"agent_id": "agent-a", "error": {"message": "m", "retryable": "no"}}),
            ("fail", {"agent_id": "agent-a", "error": {"message": "m", "code": "x"}}),
        ]
        for op, body in bad:
            with self.subTest(op=op, body=body):
                self.assertError(self.task_call(task["id"], op, body), 400, "invalid_request")
        # None of them changed the task or the run.
        self.assertTrue(waits_on_agent(s.get_run(run["id"])))
        self.assertEqual(find_step(s.get_run(run["id"]), "work")["attempts"], [])
        self.assertError(self.task_call("task_does_not_exist", "heartbeat",
                                        {"agent_id": "agent-a"}), 404, "not_found")
        self.assertError(self.task_call("task_does_not_exist", "complete",
                                        {"agent_id": "agent-a", "output": 1}), 404, "not_found")
        self.assertError(self.task_call("task_does_not_exist", "fail",
                                        {"agent_id": "agent-a", "error": {"message": "m"}}),
                         404, "not_found")
        self.assertEqual(self.task_call(task["id"], "complete",
                                        {"agent_id": "agent-a", "output": "fine"}).json,
                         {"discarded": False})
        self.assertEqual(s.wait_status(run["id"], *TERMINAL)["output"], "fine")

    # --------------------------------------------------------------- leases

    def test_heartbeat_extends_the_lease(self):
        s = self.server
        run = self.start_waiting("ag-beat", "ag-beat-q", {"h": 1})
        task = self.claim_task("agent-a", "ag-beat-q")
        first_lease = parse_time(task["lease_expires_at"])
        # A task claimed after it and never heartbeated: its lapse shows a sweep ran.
        s.advance_clock(1)
        sentinel = self.start_waiting("ag-beat-sentinel", "ag-beat-sentinel-q", {"h": 2})
        self.claim_task("agent-s", "ag-beat-sentinel-q")
        s.advance_clock(20 * 1000)
        beat = self.assertStatus(self.task_call(task["id"], "heartbeat", {"agent_id": "agent-a"}),
                                 200)
        self.assertEqual(set(beat), {"lease_expires_at", "cancelled"})
        self.assertFalse(beat["cancelled"])
        second_lease = parse_time(beat["lease_expires_at"])
        self.assertGreaterEqual(second_lease - first_lease, timedelta(seconds=20))
        # 40 s after the claim: past the first lease, within the extended one. The sweep
        # that fails the sentinel's lapsed lease has looked at this task too (it takes
        # lapsed leases oldest first, and the sentinel's lapsed after the first lease).
        s.advance_clock(20 * 1000)
        self.assertEqual(s.wait_status(sentinel["id"], *TERMINAL)["error"]["code"],
                         "lease_expired")
        still = s.get_run(run["id"])
        self.assertTrue(waits_on_agent(still), still)
        self.assertEqual(find_step(still, "work")["attempts"], [])
        self.assertEqual(self.claim("agent-b", ["ag-beat-q"], 0).status, 204)
        beat = self.task_call(task["id"], "heartbeat", {"agent_id": "agent-a"}).json
        self.assertFalse(beat["cancelled"])
        resp = self.task_call(task["id"], "complete", {"agent_id": "agent-a", "output": "late"})
        self.assertEqual(resp.json, {"discarded": False})
        self.assertEqual(s.wait_status(run["id"], *TERMINAL)["status"], "completed")

    def test_lapsed_lease_goes_to_another_agent(self):
        s = self.server
        run = self.start_waiting("ag-lapse", "ag-lapse-q", {"l": 1},
                                 retry={"max_attempts": 2, "backoff": "fixed", "initial": "1s"})
        task = self.claim_task("agent-a", "ag-lapse-q")
        self.assertEqual(task["attempt"], 1)
        s.advance_clock(31 * 1000)
        waiting = s.wait_for(run["id"], lambda r: bool(find_step(r, "work")["attempts"]),
                             desc="the lapsed lease to count as a failed attempt")
        self.assertEqual(waiting["status"], "waiting")
        wait = waiting["wait"]
        self.assertEqual(wait["kind"], "agent")
        self.assertEqual(wait["attempt"], 2)
        self.assertEqual(wait["last_error"]["code"], "lease_expired")
        self.assertTrue(wait["next_attempt_at"])
        lapsed = find_step(waiting, "work")["attempts"][0]
        self.assertEqual(lapsed["attempt"], 1)
        self.assertEqual(lapsed["error"]["code"], "lease_expired")
        self.assertEqual(lapsed["agent_id"], "agent-a")
        self.assertEqual(lapsed["task_id"], task["id"])

        # The old agent learns that the task is no longer its own.
        beat = self.assertStatus(self.task_call(task["id"], "heartbeat", {"agent_id": "agent-a"}),
                                 200)
        self.assertTrue(beat["cancelled"], beat)
        # After the back-off another agent gets the same task, attempt 2.
        s.advance_clock(1000)
        again = self.claim_task("agent-b", "ag-lapse-q", wait_ms=10000)
        self.assertEqual(again["id"], task["id"])
        self.assertEqual(again["attempt"], 2)
        self.assertEqual(again["input"], {"l": 1})
        self.assertGreater(parse_time(again["lease_expires_at"]),
                           parse_time(task["lease_expires_at"]))

        self.assertTrue(self.task_call(task["id"], "heartbeat",
                                       {"agent_id": "agent-a"}).json["cancelled"])
        late = self.task_call(task["id"], "complete", {"agent_id": "agent-a", "output": "old"})
        self.assertEqual(self.assertStatus(late, 200), {"discarded": True})
        self.assertTrue(waits_on_agent(s.get_run(run["id"])))
        beat_b = self.task_call(task["id"], "heartbeat", {"agent_id": "agent-b"}).json
        self.assertFalse(beat_b["cancelled"])
        done_resp = self.task_call(task["id"], "complete", {"agent_id": "agent-b", "output": "new"})
        self.assertEqual(self.assertStatus(done_resp, 200), {"discarded": False})
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["output"], "new")
        step = find_step(done, "work")
        self.assertEqual(step["attempt"], 2)
        self.assertEqual([a["error"]["code"] for a in step["attempts"]], ["lease_expired"])

    def test_lapsed_lease_without_retry_fails_the_run(self):
        s = self.server
        run = self.start_waiting("ag-lapse-once", "ag-lapse-once-q", {"l": 2})
        task = self.claim_task("agent-a", "ag-lapse-once-q")
        s.advance_clock(31 * 1000)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["error"]["code"], "lease_expired")
        self.assertEqual(done["error"]["step_id"], "work")
        self.assertTrue(self.task_call(task["id"], "heartbeat",
                                       {"agent_id": "agent-a"}).json["cancelled"])
        late = self.task_call(task["id"], "complete", {"agent_id": "agent-a", "output": 1})
        self.assertEqual(self.assertStatus(late, 200), {"discarded": True})
        self.assertEqual(s.get_run(run["id"])["status"], "failed")

    # ---------------------------------------------------- cancel and failures

    def test_complete_after_cancel_is_discarded(self):
        s = self.server
        run = self.start_waiting("ag-cancel", "ag-cancel-q", {"c": 1})
        task = self.claim_task("agent-a", "ag-cancel-q")
        self.assertStatus(s.control(run["id"], "cancel", {"reason": "no longer needed"}), 200)
        beat = self.assertStatus(self.task_call(task["id"], "heartbeat", {"agent_id": "agent-a"}),
                                 200)
        self.assertTrue(beat["cancelled"])
        resp = self.task_call(task["id"], "complete", {"agent_id": "agent-a", "output": "late"})
        self.assertEqual(self.assertStatus(resp, 200), {"discarded": True})
        done = s.wait_for(run["id"], lambda r: find_step(r, "work")["result_discarded"],
                          desc="the step to record the discarded result")
        self.assertEqual(done["status"], "cancelled")
        self.assertIsNone(done["output"])
        step = find_step(done, "work")
        self.assertEqual(step["status"], "cancelled")
        self.assertTrue(step["result_discarded"])
        self.assertNotEqual(step["output"], "late")
        self.assertEqual(find_step(done, "after")["status"], "pending")

    def test_queued_task_of_a_cancelled_run_is_not_handed_out(self):
        s = self.server
        run = self.start_waiting("ag-cancel-queued", "ag-cancel-queued-q", {"c": 2})
        self.assertStatus(s.control(run["id"], "cancel"), 200)
        # The cancel closed the task in its own commit: no claim from now on gets it.
        self.assertEqual(self.claim("agent-a", ["ag-cancel-queued-q"], 0).status, 204)

    def test_fail_not_retryable_fails_the_run(self):
        s = self.server
        run = self.start_waiting("ag-fail", "ag-fail-q", {"f": 1},
                                 retry={"max_attempts": 5, "backoff": "fixed", "initial": "1s"})
        task = self.claim_task("agent-a", "ag-fail-q")
        resp = self.task_call(task["id"], "fail", {
            "agent_id": "agent-a", "error": {"message": "cannot do this", "retryable": False}})
        self.assertEqual(self.assertStatus(resp, 200), {"discarded": False})
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["error"]["code"], "agent_failed")
        self.assertEqual(done["error"]["step_id"], "work")
        self.assertIn("cannot do this", done["error"]["message"])
        self.assertEqual(find_step(done, "work")["status"], "failed")
        # Past the back-off the policy would have used: the task is not queued again.
        s.advance_clock(5000)
        self.assertEqual(self.claim("agent-b", ["ag-fail-q"], 0).status, 204)

    def test_fail_retryable_is_retried(self):
        s = self.server
        run = self.start_waiting("ag-fail-retry", "ag-fail-retry-q", {"f": 2},
                                 retry={"max_attempts": 2, "backoff": "fixed", "initial": "3s"})
        task = self.claim_task("agent-a", "ag-fail-retry-q")
        resp = self.task_call(task["id"], "fail",
                              {"agent_id": "agent-a", "error": {"message": "flaky"}})
        self.assertEqual(self.assertStatus(resp, 200), {"discarded": False})
        waiting = s.wait_for(run["id"], lambda r: (r.get("wait") or {}).get("attempt") == 2,
                             desc="the back-off before attempt 2")
        self.assertEqual(waiting["wait"]["last_error"], {"code": "agent_failed",
                                                         "message": "flaky"})
        self.assertEqual(self.claim("agent-b", ["ag-fail-retry-q"], 0).status, 204)
        s.advance_clock(3000)
        again = self.claim_task("agent-b", "ag-fail-retry-q", wait_ms=10000)
        self.assertEqual(again["attempt"], 2)
        self.task_call(again["id"], "fail", {"agent_id": "agent-b", "error": {"message": "x2"}})
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["error"]["code"], "agent_failed")
        self.assertEqual([a["agent_id"] for a in find_step(done, "work")["attempts"]],
                         ["agent-a"])

    def test_fail_without_retry_fails_the_run(self):
        s = self.server
        run = self.start_waiting("ag-fail-once", "ag-fail-once-q", {"f": 3})
        task = self.claim_task("agent-a", "ag-fail-once-q")
        self.task_call(task["id"], "fail", {"agent_id": "agent-a", "error": {"message": "no"}})
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["error"]["code"], "agent_failed")


class ExampleAgentTest(E2ETestCase):
    """examples/agent.py as a real process, against a server on the real clock."""

    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server()
        cls.token = cls.server.create_token("agent", "example")["token"]

    def start_agent(self, queues, *args, env_token=False):
        # Each test has queues of its own: an agent stopped while it long-polls must not
        # matter to the next test (AgentsTest.test_claim_of_a_client_that_hung_up...).
        s = self.server
        env = dict(os.environ)
        cmd = [sys.executable, str(EXAMPLE_AGENT), "--url", f"http://{s.host}:{s.port}",
               *[arg for q in queues for arg in ("--queue", q)], *args]
        if env_token:
            env["STEPWELL_TOKEN"] = self.token
        else:
            cmd += ["--token", self.token]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)

        def stop():
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
            proc.stdout.close()
            proc.stderr.close()

        self.addCleanup(stop)
        return proc

    def test_example_agent_completes_fails_and_sleeps(self):
        s = self.server
        s.put_workflow({"id": "ex-wf", "steps": [
            agent_step("work", "ex-q", "${{ input.task }}"),
            noop("after", "${{ steps.work.output }}")]})
        s.put_workflow({"id": "ex-wf-other", "steps": [agent_step("work", "ex-other", {"o": 1})]})
        self.start_agent(["ex-q", "ex-other"], "--agent-id", "ex-1")
        runs = {
            "plain": s.start_run("ex-wf", {"task": {"n": 1}}),
            "sleep": s.start_run("ex-wf", {"task": {"sleep": 1}}),
            "fail": s.start_run("ex-wf", {"task": {"fail": "nope", "retryable": False}}),
            "other": s.start_run("ex-wf-other"),
        }
        done = {k: s.wait_status(r["id"], *TERMINAL, timeout=30) for k, r in runs.items()}
        self.assertEqual(done["plain"]["status"], "completed", done["plain"])
        self.assertEqual(done["plain"]["output"], {"echo": {"n": 1}, "agent_id": "ex-1"})
        self.assertEqual(done["sleep"]["status"], "completed", done["sleep"])
        self.assertEqual(done["sleep"]["output"], {"echo": {"sleep": 1}, "agent_id": "ex-1"})
        self.assertEqual(done["other"]["output"], {"echo": {"o": 1}, "agent_id": "ex-1"})
        self.assertEqual(done["fail"]["status"], "failed", done["fail"])
        self.assertEqual(done["fail"]["error"]["code"], "agent_failed")
        self.assertIn("nope", done["fail"]["error"]["message"])

    def test_example_agent_once_with_env_token(self):
        s = self.server
        s.put_workflow({"id": "ex-once", "steps": [agent_step("work", "ex-once-q", {"once": True})]})
        proc = self.start_agent(["ex-once-q"], "--agent-id", "ex-once", "--once", "--wait-ms", "1000",
                                env_token=True)
        run = s.start_run("ex-once")
        done = s.wait_status(run["id"], *TERMINAL, timeout=30)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["output"], {"echo": {"once": True}, "agent_id": "ex-once"})
        self.assertEqual(proc.wait(timeout=scaled(20)), 0)
        lines = [line for line in proc.stdout.read().splitlines() if line.strip()]
        task_lines = [line for line in lines if run["id"] in line]
        self.assertEqual(len(task_lines), 1, lines)
        self.assertIn("completed", task_lines[0])

    def test_example_agent_stops_when_the_run_is_cancelled(self):
        s = self.server
        s.put_workflow({"id": "ex-long", "steps": [agent_step("work", "ex-long-q", {"sleep": 60})]})
        proc = self.start_agent(["ex-long-q"], "--agent-id", "ex-long", "--once")
        run = s.start_run("ex-long")
        task_id = s.wait_for(run["id"], lambda r: (r.get("wait") or {}).get("kind") == "agent")[
            "wait"]["task_id"]
        # Claimed by the agent: a heartbeat in its name is answered "not cancelled" (for a
        # task that is not this agent's it says cancelled).
        wait_until(lambda: self._beat(task_id, "ex-long") is False, timeout=15,
                   desc="the example agent to claim the task")
        self.assertStatus(s.control(run["id"], "cancel"), 200)
        # The agent notices at its next heartbeat (every 5 s) and exits (--once).
        self.assertEqual(proc.wait(timeout=scaled(30)), 0)
        out = proc.stdout.read()
        self.assertIn("cancelled", out)
        self.assertEqual(s.get_run(run["id"])["status"], "cancelled")

    def _beat(self, task_id, agent_id):
        resp = self.server.request("POST", f"/api/v1/agent-tasks/{task_id}/heartbeat",
                                   {"agent_id": agent_id}, token=self.token)
        return resp.json["cancelled"] if resp.status == 200 else None

if __name__ == "__main__":
    unittest.main()
