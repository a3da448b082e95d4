"""Platform guardrails: a step the platform refuses outright (a target that is not
allowed, a shell step on a server without --allow-shell, an output over the limit)
fails its run with the refusal on the step. Nothing parks, pauses or retries it, even
with a retry policy, and its workflow stays active (a refusal is not a safety hold).
"""

import os
import unittest

from harness import E2ETestCase, find_step, http_step, noop

RETRY = {"max_attempts": 5, "backoff": "fixed", "initial": "1s"}
MIB = 1 << 20


def brief(run):
    """The run without its input and outputs (which may be megabytes), for messages."""
    return {**run, "input": "...", "steps": [
        {**st, "output": None if st["output"] is None else "..."} for st in run["steps"]]}


class GuardrailsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = cls.start_target()
        # No --allow-private-targets: the local target is refused.
        cls.server = cls.start_server(fake_clock=True)

    def assert_refused(self, server, wf_id, step_id, code, input=None):
        run = server.start_run(wf_id, input)
        done = server.wait_status(run["id"], "failed", "completed", "cancelled", "paused",
                                  "waiting")
        shown = brief(done)
        self.assertEqual(done["status"], "failed", shown)
        self.assertIsNone(done.get("wait"), shown)
        self.assertIsNone(done.get("workflow_safety"), shown)
        self.assertEqual(done["error"]["code"], code, shown)
        step = find_step(done, step_id)
        self.assertEqual(step["status"], "failed", shown)
        self.assertEqual(step["error"]["code"], code, shown)
        self.assertTrue(step["error"]["message"], shown)
        self.assertIsNone(step["output"], shown)
        self.assertEqual(step["attempt"], 1, shown)  # no retry, whatever the policy
        # The refusal holds nothing: the step after it never started, the workflow is
        # active.
        after = find_step(done, "after", required=False)
        self.assertTrue(after is None or after["started_at"] is None, shown)
        wf = server.request("GET", f"/api/v1/workflows/{wf_id}").json
        self.assertEqual(wf["status"], "active", wf)
        self.assertIsNone(wf.get("safety"), wf)
        server.wait_engine_idle()
        self.assertEqual(server.get_run(run["id"])["status"], "failed")
        return done

    def test_target_not_allowed(self):
        s, t = self.server, self.target
        path = t.route(t.unique_path("private"), body={"ok": True})
        s.put_workflow({"id": "gr-target", "steps": [
            {**http_step("h", t.url(path)), "retry": RETRY}, noop("after", 1)]})
        self.assert_refused(s, "gr-target", "h", "target_not_allowed")
        self.assertEqual(t.hits(path), 0)

    def test_response_over_the_output_limit(self):
        s = self.start_test_server(allow_private_targets=True, fake_clock=True)
        t = self.target
        path = t.route(t.unique_path("huge"), raw=b"x" * (MIB + 1), content_type="text/plain")
        s.put_workflow({"id": "gr-huge", "steps": [
            {**http_step("h", t.url(path)), "retry": RETRY}, noop("after", 1)]})
        self.assert_refused(s, "gr-huge", "h", "response_too_large")

    def test_step_output_over_the_limit(self):
        s = self.server
        s.put_workflow({"id": "gr-output", "steps": [
            noop("big", ["${{ input.s }}", "${{ input.s }}"]), noop("after", 1)]})
        run = self.assert_refused(s, "gr-output", "big", "output_too_large",
                                  input={"s": "y" * (MIB // 2 + 10)})
        self.assertIn("1048576", find_step(run, "big")["error"]["message"])

    def test_shell_step_on_a_server_without_allow_shell(self):
        s = self.start_test_server(fake_clock=True, extra_args=["--allow-shell"])
        s.put_workflow({"id": "gr-shell", "steps": [
            {"id": "sh", "type": "shell", "with": {"argv": ["true"]}, "retry": RETRY},
            noop("after", 1)]})
        s.flags.remove("--allow-shell")
        s.restart()
        self.assert_refused(s, "gr-shell", "sh", "shell_not_allowed")
        self.assertTrue(os.path.isdir(s.data_dir))


if __name__ == "__main__":
    unittest.main()
