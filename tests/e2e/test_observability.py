"""What an operator watches: JSON logs (`serve --log-format json`: one object a line,
the message's key=value fields as members, the request id a client sent on the control
it caused) and the labelled metrics of GET /metrics: runs ended by workflow and status,
step failures and retries by error code, active runs by workflow, holds by reason (runs
paused by pause reason, waiting by wait kind, workflows held for safety), and queue
depths.

One server of its own, with --allow-shell (a step that fails on purpose) and the
default text logs checked once against the JSON ones.
"""

import json
import re
import unittest

from harness import E2ETestCase, noop, wait_until


def samples(text, name):
    """{frozenset(labels.items()): value} of metric `name` in a Prometheus exposition."""
    out = {}
    for labels, value in re.findall(r"^" + re.escape(name) + r"\{([^}]*)\} (\S+)$", text, re.M):
        pairs = frozenset(re.findall(r'(\w+)="([^"]*)"', labels))
        out[pairs] = float(value)
    return out


class ObservabilityTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server(extra_args=["--allow-shell", "--log-format", "json"])

    def metrics(self):
        resp = self.server.api("GET", "/metrics", token=self.server.metrics_token)
        self.assertEqual(resp.status, 200, resp)
        return resp.text

    def test_json_log_lines_carry_fields_and_request_ids(self):
        s = self.server
        s.put_workflow({"id": "obs-nap", "steps": [
            {"id": "nap", "type": "sleep", "with": {"duration": "1h"}}]})
        run = s.start_run("obs-nap")["id"]
        s.wait_status(run, "waiting")
        resp = s.api("POST", f"/api/v1/runs/{run}/cancel", {"reason": "log test, with spaces"},
                     headers={"X-Request-Id": "req-obs-1"})
        self.assertEqual(resp.status, 200, resp)
        lines = [ln for ln in s.log_text().splitlines() if ln.startswith("{")]
        self.assertTrue(lines, s.log_tail())
        parsed = [json.loads(ln) for ln in lines]  # every line is one JSON object
        for entry in parsed:
            self.assertTrue({"ts", "level", "msg"} <= set(entry), entry)
            self.assertRegex(entry["ts"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        cancels = [e for e in parsed if e.get("event") == "run.cancel" and e.get("run") == run]
        self.assertEqual(len(cancels), 1, lines[-10:])
        self.assertEqual(cancels[0]["request_id"], "req-obs-1")
        self.assertEqual(cancels[0]["workflow"], "obs-nap")
        self.assertEqual(cancels[0]["reason"], "log test, with spaces")
        self.assertEqual(cancels[0]["level"], "info")

    def test_metrics_by_workflow_code_and_reason(self):
        s = self.server
        s.put_workflow({"id": "obs-ok", "steps": [noop("a", 1)]})
        s.put_workflow({"id": "obs-fails", "steps": [
            {"id": "sh", "type": "shell", "with": {"argv": ["false"]},
             "retry": {"max_attempts": 2, "backoff": "fixed", "initial": "1ms"}}]})
        s.put_workflow({"id": "obs-waits", "steps": [
            {"id": "ev", "type": "wait_for_event", "with": {"event_type": "go"}}]})
        s.put_workflow({"id": "obs-busy", "steps": [
            {"id": "sh", "type": "shell", "timeout": "90s", "with": {"argv": ["sleep", "30"]}}]})
        before = self.metrics()
        ended0 = samples(before, "stepwell_runs_ended_total")
        ok = [s.start_run("obs-ok")["id"] for _ in range(3)]
        failed = s.start_run("obs-fails")["id"]
        waiting = s.start_run("obs-waits")["id"]
        paused = s.start_run("obs-busy")["id"]
        for rid in ok:
            s.wait_status(rid, "completed")
        s.wait_status(failed, "failed", timeout=30)
        s.wait_status(waiting, "waiting")
        s.wait_status(paused, "running")
        self.assertEqual(s.api("POST", f"/api/v1/runs/{paused}/pause", {}).status, 200)
        self.addCleanup(s.api, "POST", f"/api/v1/runs/{paused}/cancel", {})
        text = self.metrics()

        ended = samples(text, "stepwell_runs_ended_total")
        def delta(wf, status):
            key = frozenset({("workflow", wf), ("status", status)})
            return ended.get(key, 0) - ended0.get(key, 0)
        self.assertEqual(delta("obs-ok", "completed"), 3, text)
        self.assertEqual(delta("obs-fails", "failed"), 1, text)

        failures = samples(text, "stepwell_step_failures_total")
        retries = samples(text, "stepwell_step_retries_total")
        self.assertGreaterEqual(failures.get(frozenset({("code", "exit_code")}), 0), 2, text)
        self.assertGreaterEqual(retries.get(frozenset({("code", "exit_code")}), 0), 1, text)

        # The store-read breakdown may be up to 5 s old.
        def breakdown_shows_runs():
            t = self.metrics()
            active = samples(t, "stepwell_active_runs_by_workflow")
            held = samples(t, "stepwell_runs_held")
            waits = samples(t, "stepwell_runs_waiting")
            return (active.get(frozenset({("workflow", "obs-waits"), ("status", "waiting")})) == 1
                    and active.get(frozenset({("workflow", "obs-busy"), ("status", "paused")})) == 1
                    and held.get(frozenset({("reason", "operator")}), 0) >= 1
                    and waits.get(frozenset({("kind", "event")}), 0) >= 1) and t
        text = wait_until(breakdown_shows_runs, 15, "the metrics breakdown to show the runs")
        self.assertIn('stepwell_workflows_held{reason="throughput_cap"} ', text)
        self.assertIn('stepwell_workflows_held{reason="spend_cap"} ', text)
        for gauge in ("stepwell_store_queue_depth", "stepwell_engine_queue_depth",
                      "stepwell_timers_pending"):
            self.assertRegex(text, r"(?m)^" + gauge + r" \d+$")


if __name__ == "__main__":
    unittest.main()
