"""Step retries (`retry` and `retry_on`) on --fake-clock: the run waits between attempts
with wait.kind "retry" (next_attempt_at = failure time + back-off), earlier attempts are
listed on the step, fixed and exponential back-off, what is retried by default (5xx
yes, 4xx no), retry_on with a single status, exhausting max_attempts, cancel during a
back-off, and a shell step whose exit code is retried.

The fake clock only moves when told, so "failure time + back-off" is exact, and a
back-off cannot run out while we look at the waiting run.
"""

import os
import shutil
import tempfile
import unittest
from datetime import timedelta

from harness import E2ETestCase, TERMINAL, find_step, http_step, noop, parse_time


def with_retry(step, retry=None, retry_on=None):
    step = dict(step)
    if retry is not None:
        step["retry"] = retry
    if retry_on is not None:
        step["retry_on"] = retry_on
    return step


def in_retry(run):
    return run["status"] == "waiting" and (run.get("wait") or {}).get("kind") == "retry"


class RetriesTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = cls.start_target()
        cls.server = cls.start_server(fake_clock=True, allow_private_targets=True,
                                      extra_args=["--allow-shell"])
        cls.tmp = tempfile.mkdtemp(prefix="stepwell-e2e-retries-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)

    def wait_retry(self, run_id, next_attempt, timeout=10):
        """Waits for the back-off before attempt `next_attempt`."""
        return self.server.wait_for(
            run_id, lambda r: in_retry(r) and r["wait"].get("attempt") == next_attempt,
            timeout=timeout, desc=f"back-off before attempt {next_attempt}")

    def test_503_then_200_with_fixed_backoff(self):
        s, t = self.server, self.target
        path = t.route(t.unique_path("flaky"), handler=lambda rec, n: (
            (503, {"try": n}) if n == 1 else (200, {"try": n})))
        s.put_workflow({"id": "rt-flaky", "steps": [
            with_retry(http_step("h", t.url(path)),
                       {"max_attempts": 3, "backoff": "fixed", "initial": "10s"}),
            noop("after", "${{ steps.h.output.body.try }}")]})
        run = s.start_run("rt-flaky")
        waiting = self.wait_retry(run["id"], 2)

        wait = waiting["wait"]
        self.assertEqual(wait["kind"], "retry")
        self.assertEqual(wait["step_id"], "h")
        self.assertEqual(wait["attempt"], 2)
        self.assertEqual(wait["max_attempts"], 3)
        self.assertEqual(wait["last_error"]["code"], "http_error", wait)
        self.assertTrue(wait["last_error"]["message"])
        # docs/api.md: a run in a retry back-off may also be paused (differs from the
        # contract's table on purpose).
        self.assertEqual(waiting["allowed_actions"], ["pause", "cancel"])
        step = find_step(waiting, "h")
        self.assertEqual(step["status"], "waiting")
        self.assertEqual(step["error"]["code"], "http_error")
        self.assertEqual(len(step["attempts"]), 1, step)
        first = step["attempts"][0]
        self.assertEqual(first["attempt"], 1)
        self.assertEqual(first["error"]["code"], "http_error")
        self.assertIsInstance(first["duration_ms"], int)
        self.assertGreaterEqual(first["duration_ms"], 0)
        failed_at = parse_time(first["finished_at"])
        self.assertLessEqual(parse_time(first["started_at"]), failed_at)
        self.assertEqual(parse_time(wait["next_attempt_at"]) - failed_at, timedelta(seconds=10))
        self.assertEqual(wait["until"], wait["next_attempt_at"])
        # The run is listed as waiting on a retry.
        listed = s.list_all("/api/v1/runs?wait_kind=retry&workflow_id=rt-flaky")
        self.assertEqual([r["id"] for r in listed], [run["id"]])

        # No second attempt before the back-off is over: every timer due 1 ms before its
        # end has fired, and the run still waits.
        s.advance_clock_and_settle(9999)
        self.assertTrue(in_retry(s.get_run(run["id"])))
        self.assertEqual(t.hits(path), 1)
        s.advance_clock(1)
        done = s.wait_status(run["id"], *TERMINAL, timeout=10)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["output"], 2)
        self.assertEqual(t.hits(path), 2)
        step = find_step(done, "h")
        self.assertEqual(step["status"], "completed")
        self.assertEqual(step["attempt"], 2)
        self.assertIsNone(step["error"])
        self.assertEqual(step["output"]["status"], 200)
        self.assertEqual([a["attempt"] for a in step["attempts"]], [1])
        self.assertEqual(step["attempts"][0]["error"]["code"], "http_error")
        self.assertIsNone(done["wait"])

    def test_exponential_backoff_doubles_and_exhaustion_fails(self):
        s, t = self.server, self.target
        path = t.route(t.unique_path("down"), status=503, body={"down": True})
        s.put_workflow({"id": "rt-exp", "steps": [
            with_retry(http_step("h", t.url(path)),
                       {"max_attempts": 4, "backoff": "exponential", "initial": "1s",
                        "max": "1h"}),
            noop("after", "never")]})
        run = s.start_run("rt-exp")
        delays = []
        for attempt in (2, 3, 4):
            waiting = self.wait_retry(run["id"], attempt)
            step = find_step(waiting, "h")
            self.assertEqual(len(step["attempts"]), attempt - 1, step)
            failed_at = parse_time(step["attempts"][-1]["finished_at"])
            delay = parse_time(waiting["wait"]["next_attempt_at"]) - failed_at
            delays.append(delay.total_seconds())
            self.assertEqual(t.hits(path), attempt - 1)
            s.advance_clock(int(delay.total_seconds() * 1000))
        self.assertEqual(delays, [1.0, 2.0, 4.0])
        done = s.wait_status(run["id"], *TERMINAL, timeout=10)
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["error"]["step_id"], "h")
        self.assertEqual(done["error"]["code"], "http_error")
        self.assertEqual(t.hits(path), 4)
        step = find_step(done, "h")
        self.assertEqual(step["status"], "failed")
        self.assertEqual(step["attempt"], 4)
        self.assertEqual([a["attempt"] for a in step["attempts"]], [1, 2, 3])
        self.assertEqual(step["output"]["status"], 503)
        self.assertEqual(find_step(done, "after")["status"], "pending")
        # Nothing more happens, however far the clock moves.
        s.advance_clock_and_settle(3600 * 1000)
        self.assertEqual(t.hits(path), 4)

    def test_exponential_backoff_is_capped_by_max(self):
        s, t = self.server, self.target
        path = t.route(t.unique_path("capped"), status=500)
        s.put_workflow({"id": "rt-cap", "steps": [
            with_retry(http_step("h", t.url(path)),
                       {"max_attempts": 4, "initial": "2s", "max": "3s"})]})
        run = s.start_run("rt-cap")
        delays = []
        for attempt in (2, 3, 4):
            waiting = self.wait_retry(run["id"], attempt)
            failed_at = parse_time(find_step(waiting, "h")["attempts"][-1]["finished_at"])
            delay = parse_time(waiting["wait"]["next_attempt_at"]) - failed_at
            delays.append(delay.total_seconds())
            s.advance_clock(int(delay.total_seconds() * 1000))
        self.assertEqual(delays, [2.0, 3.0, 3.0])
        self.assertEqual(s.wait_status(run["id"], *TERMINAL)["status"], "failed")

    def test_404_fails_at_once_by_default(self):
        s, t = self.server, self.target
        path = t.route(t.unique_path("missing"), status=404, body={"nope": True})
        s.put_workflow({"id": "rt-404", "steps": [
            with_retry(http_step("h", t.url(path)), {"max_attempts": 5, "initial": "1s"})]})
        done = s.run_and_wait("rt-404")
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["error"]["code"], "http_error")
        step = find_step(done, "h")
        self.assertEqual(step["attempt"], 1)
        self.assertEqual(step["attempts"], [])
        s.advance_clock_and_settle(60 * 1000)
        self.assertEqual(t.hits(path), 1, "a 404 is not retried")

    def test_retry_on_404_retries_it(self):
        s, t = self.server, self.target
        path = t.route(t.unique_path("later"), handler=lambda rec, n: (
            (404, {"try": n}) if n < 3 else (200, {"try": n})))
        s.put_workflow({"id": "rt-404-on", "steps": [
            with_retry(http_step("h", t.url(path)),
                       {"max_attempts": 3, "backoff": "fixed", "initial": "5s"}, ["404"])]})
        run = s.start_run("rt-404-on")
        for attempt in (2, 3):
            self.wait_retry(run["id"], attempt)
            s.advance_clock(5000)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["output"]["body"], {"try": 3})
        self.assertEqual([a["error"]["code"] for a in find_step(done, "h")["attempts"]],
                         ["http_error", "http_error"])

    def test_retry_on_404_does_not_retry_503(self):
        s, t = self.server, self.target
        path = t.route(t.unique_path("only404"), status=503)
        s.put_workflow({"id": "rt-only-404", "steps": [
            with_retry(http_step("h", t.url(path)), {"max_attempts": 3}, ["404"])]})
        done = s.run_and_wait("rt-only-404")
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(t.hits(path), 1)

    def test_cancel_during_backoff(self):
        s, t = self.server, self.target
        path = t.route(t.unique_path("cancel"), status=502)
        s.put_workflow({"id": "rt-cancel", "steps": [
            with_retry(http_step("h", t.url(path)),
                       {"max_attempts": 5, "backoff": "fixed", "initial": "30s"}),
            noop("after", "never")]})
        run = s.start_run("rt-cancel")
        self.wait_retry(run["id"], 2)
        resp = s.control(run["id"], "cancel", {"reason": "give up"})
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json["status"], "cancelled")
        done = s.wait_step(run["id"], "h", "cancelled")
        self.assertEqual(done["status"], "cancelled")
        self.assertIsNone(done["wait"])
        self.assertEqual(done["cancel"]["reason"], "give up")
        self.assertEqual(find_step(done, "after")["status"], "pending")
        s.advance_clock_and_settle(120 * 1000)
        self.assertEqual(t.hits(path), 1, "an attempt after cancel")
        self.assertEqual(s.get_run(run["id"])["status"], "cancelled")

    def test_shell_exit_code_is_retried(self):
        s = self.server
        counter = os.path.join(self.tmp, "count")
        script = (f"echo x >> {counter}; n=$(wc -l < {counter}); echo attempt $n; "
                  f"[ $n -ge 2 ]")
        s.put_workflow({"id": "rt-shell", "steps": [
            {"id": "sh", "type": "shell", "with": {"argv": ["sh", "-c", script]},
             "retry": {"max_attempts": 3, "backoff": "fixed", "initial": "2s"}}]})
        run = s.start_run("rt-shell")
        waiting = self.wait_retry(run["id"], 2, timeout=20)
        self.assertEqual(waiting["wait"]["last_error"]["code"], "exit_code")
        s.advance_clock(2000)
        done = s.wait_status(run["id"], *TERMINAL, timeout=20)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["output"]["stdout"], "attempt 2\n")
        step = find_step(done, "sh")
        self.assertEqual(step["attempt"], 2)
        self.assertEqual([a["error"]["code"] for a in step["attempts"]], ["exit_code"])
        with open(counter, encoding="utf-8") as f:
            self.assertEqual(f.read(), "x\nx\n")

    def test_invalid_retry_policies_are_refused(self):
        s, t = self.server, self.target
        base = http_step("h", t.url("/never"))
        cases = [
            ({"backoff": "fixed"}, None, "retry.max_attempts"),
            ({"max_attempts": 0}, None, "retry.max_attempts"),
            ({"max_attempts": 101}, None, "retry.max_attempts"),
            ({"max_attempts": 2, "backoff": "linear"}, None, "retry.backoff"),
            ({"max_attempts": 2, "jitter": 2}, None, "retry.jitter"),
            ({"max_attempts": 2}, ["teapot"], "retry_on[0]"),
            ({"max_attempts": 2}, "5xx", "retry_on"),
        ]
        for retry, retry_on, field in cases:
            with self.subTest(retry=retry, retry_on=retry_on):
                resp = s.request("PUT", "/api/v1/workflows/rt-bad", {
                    "id": "rt-bad", "steps": [with_retry(base, retry, retry_on)]})
                err = self.assertError(resp, 400, "invalid_definition")
                self.assertEqual(err.get("step_id"), "h", resp)
                self.assertEqual(err.get("field"), field, resp)
        self.assertEqual(s.request("GET", "/api/v1/workflows/rt-bad").status, 404)


if __name__ == "__main__":
    unittest.main()
