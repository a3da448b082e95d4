"""A workflow's status (active, disabled, paused_safety) is the same everywhere: the
/metrics gauge `stepwell_workflows{status=...}` (which needs the metrics token),
`stepwell workflows list` (the hold's reason and message) and `stepwell workflows
resume WF` (POST /api/v1/workflows/{wf}/resume: a throughput hold resumes, a spend
hold is refused).

One server of its own, on --fake-clock (the breaker's window stands still).
"""

import re
import subprocess
import unittest

from harness import E2ETestCase, noop, scaled, wait_until

THROUGHPUT = "tripped the throughput cap (likely a loop or polling misconfig)"
SPEND = ("This workflow paused because the account spend cap was reached. Dispatch resumes "
         "after the cap is raised or the billing period rolls over.")


class WorkflowStatusTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server(fake_clock=True)

    def cli(self, token, *args):
        s = self.server
        return subprocess.run(
            [s.binary, *args, "--server", f"http://{s.host}:{s.port}", "--token", token],
            capture_output=True, text=True, timeout=scaled(30))

    def status_of(self, token, wf_id):
        resp = self.server.request("GET", f"/api/v1/workflows/{wf_id}", token=token)
        self.assertEqual(resp.status, 200, resp)
        return resp.json["status"]

    def wait_held(self, token, wf_id):
        wait_until(lambda: self.status_of(token, wf_id) == "paused_safety", 30,
                   f"{wf_id} to be paused_safety")
        self.server.wait_engine_idle()

    def gauge(self):
        resp = self.server.request("GET", "/metrics", token=self.server.metrics_token)
        self.assertEqual(resp.status, 200, resp)
        return {m[0]: int(m[1]) for m in re.findall(
            r'^stepwell_workflows\{status="([a-z_]+)"\} (\d+)$', resp.text, re.MULTILINE)}

    def test_status_everywhere(self):
        s = self.server
        admin = s.admin_token
        s.put_workflow({"id": "st-active", "steps": [noop("a", 1)]})
        s.put_workflow({"id": "st-disabled", "steps": [noop("a", 1)]})
        resp = s.request("POST", "/api/v1/workflows/st-disabled/status", {"status": "disabled"})
        self.assertEqual(resp.status, 200, resp)
        # Three steps under a limit of two a minute: the third trips the breaker.
        s.put_workflow({"id": "st-runaway", "limits": {"max_steps_per_minute": 2},
                        "steps": [noop("a", 1), noop("b", 2), noop("c", 3)]})
        runaway = s.start_run("st-runaway")
        self.wait_held(admin, "st-runaway")
        # Another workspace reaches its spend cap.
        ws = s.create_workspace("st-spend")
        resp = s.request("PUT", "/api/v1/billing",
                         {"spend_cap": 0.001, "prices": {"default": 0.001}}, token=ws)
        self.assertEqual(resp.status, 200, resp)
        resp = s.request("PUT", "/api/v1/workflows/st-capped",
                         {"id": "st-capped", "steps": [noop("a", 1), noop("b", 2)]}, token=ws)
        self.assertIn(resp.status, (200, 201), resp)
        s.start_run("st-capped", token=ws)
        self.wait_held(ws, "st-capped")

        self.assertEqual(self.gauge(), {"active": 1, "disabled": 1, "paused_safety": 2})
        self.assertEqual(s.request("GET", "/metrics", token=admin).status, 403)

        listed = self.cli(admin, "workflows", "list")
        self.assertEqual(listed.returncode, 0, listed.stderr)
        rows = {line.split()[0]: line for line in listed.stdout.splitlines() if line.strip()}
        self.assertIn("paused_safety (throughput_cap)", rows["st-runaway"])
        self.assertRegex(rows["st-active"], r"\bactive\b")
        self.assertRegex(rows["st-disabled"], r"\bdisabled\b")
        self.assertIn(f"st-runaway: {THROUGHPUT}", listed.stdout)
        capped = self.cli(ws, "workflows", "list")
        self.assertEqual(capped.returncode, 0, capped.stderr)
        self.assertIn("paused_safety (spend_cap)", capped.stdout)
        self.assertIn(f"st-capped: {SPEND}", capped.stdout)
        as_json = self.cli(admin, "workflows", "list", "--json")
        self.assertIn('"paused_safety"', as_json.stdout)

        # A spend hold does not resume; a throughput hold does, and its run goes on.
        refused = self.cli(ws, "workflows", "resume", "st-capped")
        self.assertNotEqual(refused.returncode, 0, refused.stdout)
        self.assertIn("invalid_transition", refused.stderr)
        self.assertEqual(self.status_of(ws, "st-capped"), "paused_safety")
        resumed = self.cli(admin, "workflows", "resume", "st-runaway")
        self.assertEqual(resumed.returncode, 0, resumed.stderr)
        self.assertEqual(resumed.stdout.strip(), "Workflow st-runaway is active.")
        s.wait_status(runaway["id"], "completed")
        self.assertEqual(self.status_of(admin, "st-runaway"), "active")
        missing = self.cli(admin, "workflows", "resume", "st-nope")
        self.assertNotEqual(missing.returncode, 0)

        self.assertEqual(self.gauge(), {"active": 2, "disabled": 1, "paused_safety": 1})


if __name__ == "__main__":
    unittest.main()
