"""The client CLI against a real server (client_commands.h lists the commands): runs
list with the search filters, runs wait (its progress line and its exit codes: 0
completed, 3 failed, 4 cancelled, 5 timed out), workflows validate/get/disable/enable,
tokens create/list/revoke, schedules create/list/get/pause/resume/delete, bulk with
a preview and --wait, operations get, --json, and
the exit codes of a refused request (1) and of no server (2).
"""

import json
import os
import subprocess
import tempfile
import unittest

from harness import E2ETestCase, noop, scaled


class CliTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server()

    def cli(self, *args, token=None, timeout=30):
        s = self.server
        return subprocess.run(
            [s.binary, *args, "--server", f"http://{s.host}:{s.port}", "--token",
             token or s.admin_token],
            capture_output=True, text=True, timeout=scaled(timeout))

    def cli_json(self, *args):
        out = self.cli(*args, "--json")
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def test_runs_list_filters(self):
        s = self.server
        s.put_workflow({"id": "cli-list", "steps": [noop("a", 1)]})
        s.put_workflow({"id": "cli-other", "steps": [noop("a", 1)]})
        mine = [s.start_run("cli-list", {"customer": n})["id"] for n in (7, 8)]
        s.start_run("cli-other", {"customer": 7})
        for rid in mine:
            s.wait_status(rid, "completed")
        page = self.cli_json("runs", "list", "--workflow", "cli-list", "--where", "input.customer=7")
        self.assertEqual([r["id"] for r in page["items"]], [mine[0]])
        page = self.cli_json("runs", "list", "--workflow", "cli-list", "--status", "completed",
                             "--version", "1", "--actor", "token:admin")
        self.assertEqual(sorted(r["id"] for r in page["items"]), sorted(mine))
        table = self.cli("runs", "list", "--workflow", "cli-list", "--limit", "1")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertIn(mine[1], table.stdout)
        self.assertIn("More: --cursor", table.stdout)
        # A bad filter value is the server's 400, shown with its field; exit code 1.
        bad = self.cli("runs", "list", "--created-after", "yesterday")
        self.assertEqual(bad.returncode, 1, bad.stdout)
        self.assertIn("field: created_after", bad.stderr)
        bad = self.cli("runs", "list", "--where", "nothing")
        self.assertEqual(bad.returncode, 2, bad.stdout)

    def test_runs_wait_exit_codes(self):
        s = self.server
        s.put_workflow({"id": "cli-ok", "steps": [noop("a", 1), noop("b", 2)]})
        s.put_workflow({"id": "cli-fails", "steps": [
            {"id": "call", "type": "http", "with": {"method": "GET", "url": "http://127.0.0.1:9/"}}]})
        s.put_workflow({"id": "cli-naps", "steps": [
            noop("first", 1), {"id": "nap", "type": "sleep", "with": {"duration": "1h"}}]})
        ok = s.start_run("cli-ok")["id"]
        out = self.cli("runs", "wait", ok)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(f"{ok} completed: 2/2 steps done", out.stderr)
        self.assertIn("completed", out.stdout)

        failed = s.start_run("cli-fails")["id"]
        out = self.cli("runs", "wait", failed, "--json")
        self.assertEqual(out.returncode, 3, out.stderr)
        self.assertEqual(json.loads(out.stdout)["error"]["code"], "target_not_allowed")

        napping = s.start_run("cli-naps")["id"]
        s.wait_status(napping, "waiting")
        out = self.cli("runs", "wait", napping, "--timeout", "1")
        self.assertEqual(out.returncode, 5, out.stderr)
        self.assertIn(f"{napping} waiting (timer): 1/2 steps done, at nap (sleep)", out.stderr)
        self.assertIn("still waiting", out.stderr)

        waiter = subprocess.Popen(
            [s.binary, "runs", "wait", napping, "--quiet", "--server",
             f"http://{s.host}:{s.port}", "--token", s.admin_token],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            cancel = self.cli("runs", "cancel", napping, "--reason", "cli test")
            self.assertEqual(cancel.returncode, 0, cancel.stderr)
            _, err = waiter.communicate(timeout=scaled(30))
        finally:
            waiter.kill()
        self.assertEqual(waiter.returncode, 4, err)
        self.assertEqual(err, "")

        missing = self.cli("runs", "wait", "run_nope")
        self.assertEqual(missing.returncode, 1)
        self.assertIn("(not_found)", missing.stderr)

    def test_workflows_validate_get_disable_enable(self):
        with tempfile.TemporaryDirectory() as d:
            good = os.path.join(d, "good.yaml")
            with open(good, "w") as f:
                f.write("id: cli-wf\nsteps:\n  - id: a\n    type: noop\n    with: {value: 1}\n")
            bad = os.path.join(d, "bad.json")
            with open(bad, "w") as f:
                json.dump({"id": "cli-bad", "steps": [{"id": "a", "type": "teleport"}]}, f)
            # validate needs no server: an unreachable one is not asked.
            out = subprocess.run([self.server.binary, "workflows", "validate", good],
                                 capture_output=True, text=True, timeout=scaled(30))
            self.assertEqual(out.returncode, 0, out.stderr)
            self.assertIn("cli-wf is valid", out.stdout)
            out = subprocess.run([self.server.binary, "workflows", "validate", bad],
                                 capture_output=True, text=True, timeout=scaled(30))
            self.assertEqual(out.returncode, 2, out.stdout)
            self.assertIn("step_id: a", out.stderr)
            # The server refuses what validate refuses.
            with open(bad) as f:
                refused = self.server.request("PUT", "/api/v1/workflows/cli-bad", json.load(f))
            self.assertEqual(refused.status, 400, refused)
            self.assertEqual(self.cli("workflows", "apply", good).returncode, 0)
        wf = self.cli_json("workflows", "get", "cli-wf")
        self.assertEqual((wf["id"], wf["version"], wf["status"]), ("cli-wf", 1, "active"))
        shown = self.cli("workflows", "get", "cli-wf", "--version", "1")
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertIn("Status:", shown.stdout)
        out = self.cli("workflows", "disable", "cli-wf")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("is disabled", out.stdout)
        refused = self.server.request("POST", "/api/v1/workflows/cli-wf/runs", {"input": {}})
        self.assertEqual(refused.status, 409, refused)
        self.assertEqual(self.cli("workflows", "enable", "cli-wf").returncode, 0)
        started = self.server.request("POST", "/api/v1/workflows/cli-wf/runs", {"input": {}})
        self.assertEqual(started.status, 201, started)
        self.assertEqual(self.cli("workflows", "get", "cli-nope").returncode, 1)

    def test_tokens(self):
        created = self.cli("tokens", "create", "--role", "viewer", "--name", "cli-viewer")
        self.assertEqual(created.returncode, 0, created.stderr)
        secret = created.stdout.strip().splitlines()[-1].strip()
        token_id = created.stdout.split()[1]
        self.assertTrue(token_id.startswith("tok_"), created.stdout)
        listed = self.cli_json("tokens", "list")
        self.assertIn(token_id, [t["id"] for t in listed["items"]])
        self.assertNotIn(secret, json.dumps(listed))
        # The viewer token reads, and may not create tokens (403, exit code 1).
        self.assertEqual(self.cli("runs", "list", token=secret).returncode, 0)
        refused = self.cli("tokens", "create", "--role", "admin", "--name", "x", token=secret)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("(forbidden)", refused.stderr)
        self.assertEqual(self.cli("tokens", "revoke", token_id).returncode, 0)
        after = self.cli("runs", "list", token=secret)
        self.assertEqual(after.returncode, 1)
        self.assertIn("(unauthorized)", after.stderr)

    def test_schedules(self):
        self.server.put_workflow({"id": "cli-sched", "steps": [noop("a", 1)]})
        made = self.cli_json("schedules", "create", "--workflow", "cli-sched", "--cron",
                             "0 9 * * MON-FRI", "--timezone", "Europe/Berlin", "--input",
                             '{"region": "eu"}', "--overlap", "allow")
        sid = made["id"]
        self.assertEqual((made["overlap"], made["input"], made["paused"]),
                         ("allow", {"region": "eu"}, False))
        self.assertEqual(len(made["next_fire_times"]), 5)
        table = self.cli("schedules", "list")
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertIn(sid, table.stdout)
        self.assertIn(made["next_fire_times"][0], table.stdout)
        # --workflow keeps that workflow's schedules only.
        self.server.put_workflow({"id": "cli-sched-other", "steps": [noop("a", 1)]})
        other = self.cli_json("schedules", "create", "--workflow", "cli-sched-other", "--cron",
                              "0 * * * *")["id"]
        mine = self.cli_json("schedules", "list", "--workflow", "cli-sched")["items"]
        self.assertEqual([x["id"] for x in mine], [sid])
        theirs = self.cli_json("schedules", "list", "--workflow", "cli-sched-other")["items"]
        self.assertEqual([x["id"] for x in theirs], [other])
        self.assertEqual(self.cli("schedules", "delete", other).returncode, 0)
        paused = self.cli("schedules", "pause", sid)
        self.assertEqual(paused.returncode, 0, paused.stderr)
        self.assertIn("paused", paused.stdout)
        self.assertTrue(self.cli_json("schedules", "get", sid)["paused"])
        self.assertFalse(self.cli_json("schedules", "resume", sid)["paused"])
        bad = self.cli("schedules", "create", "--workflow", "cli-sched", "--cron", "61 * * * *")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("field: cron", bad.stderr)
        self.assertEqual(self.cli("schedules", "delete", sid).returncode, 0)
        self.assertEqual(self.cli("schedules", "get", sid).returncode, 1)

    def test_bulk(self):
        s = self.server
        s.put_workflow({"id": "cli-bulk", "steps": [
            {"id": "w", "type": "wait_for_event", "with": {"event_type": "go"}}]})
        runs = [s.start_run("cli-bulk")["id"] for _ in range(3)]
        for rid in runs:
            s.wait_status(rid, "waiting")
        preview = self.cli("bulk", "cancel", "--workflow", "cli-bulk", "--status", "waiting",
                           "--preview")
        self.assertEqual(preview.returncode, 0, preview.stderr)
        self.assertIn("3 runs match", preview.stdout)
        for rid in runs:
            self.assertEqual(s.get_run(rid)["status"], "waiting")
        picked = self.cli("bulk", "cancel", "--run-ids", f"{runs[0]},{runs[2]}", "--preview")
        self.assertEqual(picked.returncode, 0, picked.stderr)
        self.assertIn("2 runs match", picked.stdout)
        self.assertIn(runs[0], picked.stdout)
        self.assertNotIn(runs[1], picked.stdout)
        listed = self.cli_json("runs", "list", "--run-ids", f"{runs[1]},{runs[2]}")
        self.assertEqual(sorted(r["id"] for r in listed["items"]), sorted([runs[1], runs[2]]))
        done = self.cli("bulk", "cancel", "--filter", '{"workflow_id": "cli-bulk"}', "--status",
                        "waiting", "--reason", "cli bulk", "--wait")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertRegex(done.stdout, r"op_\S+ cancel completed: 3 done, 0 skipped, 0 failed of 3")
        for rid in runs:
            self.assertEqual(s.get_run(rid)["status"], "cancelled")
        op = done.stdout.split()[0]
        shown = self.cli_json("operations", "get", op)
        self.assertEqual(shown["operation"]["done"], 3)
        bad = self.cli("bulk", "cancel", "--filter", "[1]")
        self.assertEqual(bad.returncode, 2)
        bad = self.cli("bulk", "pause", "--status", "sideways")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("field:", bad.stderr)
        bad = self.cli("bulk", "pause", "--run-ids", "run_nope")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("run_ids", bad.stderr)

    def test_no_server_is_exit_code_2(self):
        out = subprocess.run([self.server.binary, "runs", "list", "--server",
                              "http://127.0.0.1:9", "--token", "x"],
                             capture_output=True, text=True, timeout=scaled(30))
        self.assertEqual(out.returncode, 2, out.stderr)


if __name__ == "__main__":
    unittest.main()
