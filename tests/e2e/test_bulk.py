"""Bulk controls (API.md "Bulk controls", docs/bulk.md): POST /api/v1/runs/bulk with a
run filter and an action. A preview counts and samples and changes nothing; an
operation fixes the matching runs and changes each as its own control would (cancel
with reason and audit, of exactly the runs `run_ids` names, pause and resume of running
runs, replay of failed ones);
runs that no longer allow the action are skipped, not forced; progress counters add
up; bad bodies are 400 and change nothing; unknown and other workspaces' operations
are 404; a viewer reads but cannot start one; and an operation interrupted by a
kill -9 finishes after the restart with every run counted once."""

import os
import sqlite3
import threading
import unittest

from harness import (E2ETestCase, TERMINAL, http_step, noop, on_postgres, store_paths,
                     wait_until)


def ids(items):
    return [r["id"] for r in items]


class BulkTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = cls.start_target()
        cls.server = s = cls.start_server(allow_private_targets=True)
        s.put_workflow({"id": "bulk-sleep", "steps": [
            {"id": "nap", "type": "sleep", "with": {"duration": "1h"}}, noop("after", 1)]})
        s.put_workflow({"id": "bulk-fail", "steps": [
            {"id": "f", "type": "fail", "with": {"message": "no", "code": "boom"}}]})
        s.put_workflow({"id": "bulk-done", "steps": [noop("a", "done")]})
        cls.ops = s.create_token("operator", "bulk-ops")["token"]
        cls.viewer = s.create_token("viewer", "bulk-viewer")["token"]

    # ------------------------------------------------------------------ helpers

    def bulk(self, body, token=None):
        return self.server.request("POST", "/api/v1/runs/bulk", body,
                                   token=token or self.ops)

    def start_op(self, body, token=None):
        resp = self.bulk(body, token)
        op = self.assertStatus(resp, 202)["operation"]
        self.assertEqual(resp.headers.get("Location"), f"/api/v1/operations/{op['id']}")
        return op

    def get_op(self, op_id, token=None):
        resp = self.server.request("GET", f"/api/v1/operations/{op_id}",
                                   token=token or self.viewer)
        return self.assertStatus(resp, 200)["operation"]

    def wait_op(self, op_id, timeout=60):
        return wait_until(lambda: (lambda op: op if op["status"] == "completed" else None)(
            self.get_op(op_id)), timeout=timeout, desc=f"operation {op_id} completed")

    def waiting_runs(self, n, batch, wf="bulk-sleep"):
        s = self.server
        runs = [s.start_run(wf, {"batch": batch, "i": i}) for i in range(n)]
        return [s.wait_status(r["id"], "waiting") for r in runs]

    def running_runs(self, n, batch):
        """Runs whose first step (an HTTP call) is held by the target: running."""
        t, s = self.target, self.server
        path = t.route(t.unique_path(batch), body={"ok": True}, block=True)
        self.addCleanup(t.release, path)
        wf = f"bulk-held-{batch}"
        s.put_workflow({"id": wf, "steps": [http_step("call", t.url(path), timeout="1h"),
                                            noop("after", 1)]})
        runs = [s.start_run(wf, {"batch": batch}) for _ in range(n)]
        t.wait_for_request(path, count=n)
        return [s.wait_status(r["id"], "running") for r in runs], wf

    def audit_of(self, target):
        resp = self.server.request("GET", f"/api/v1/audit?target={target}")
        return self.assertStatus(resp, 200)["items"]

    # -------------------------------------------------------------------- tests

    def test_preview_counts_and_samples_and_changes_nothing(self):
        runs = self.waiting_runs(3, "preview")
        body = {"filter": {"status": "waiting", "input.batch": "preview"}, "action": "cancel",
                "preview": True}
        resp = self.bulk(body)
        got = self.assertStatus(resp, 200)
        self.assertEqual(got, {"count": 3, "sample": sorted(ids(runs), reverse=True)})
        for r in runs:
            now = self.server.get_run(r["id"])
            self.assertEqual(now["status"], "waiting")
            self.assertEqual(now["version"], r["version"])
        # The same filter through GET /api/v1/runs finds the same runs.
        listed = self.server.request("GET", "/api/v1/runs?status=waiting&input.batch=preview")
        self.assertEqual(ids(self.assertStatus(listed, 200)["items"]), got["sample"])
        # The sample is bounded at 20; the count is not.
        self.waiting_runs(21, "preview-many")
        many = self.assertStatus(self.bulk({"filter": {"input.batch": "preview-many"},
                                            "action": "cancel", "preview": True}), 200)
        self.assertEqual(many["count"], 21)
        self.assertEqual(len(many["sample"]), 20)

    def test_cancel_of_matching_waiting_runs_with_reason_and_audit(self):
        runs = self.waiting_runs(4, "cancel")
        other = self.waiting_runs(1, "cancel-not")[0]
        flt = {"status": "waiting", "workflow_id": "bulk-sleep", "input.batch": "cancel"}
        op = self.start_op({"filter": flt, "action": "cancel", "reason": "incident 7"})
        self.assertTrue(op["id"].startswith("op_"))
        self.assertIn(op["status"], ("running", "completed"))
        self.assertEqual(op["action"], "cancel")
        self.assertEqual(op["filter"], flt)
        self.assertEqual(op["reason"], "incident 7")
        self.assertEqual(op["total"], 4)
        self.assertEqual(op["actor"], "token:bulk-ops")
        self.assertTime(op["created_at"])
        done = self.wait_op(op["id"])
        self.assertEqual((done["done"], done["skipped"], done["failed"]), (4, 0, 0))
        self.assertTime(done["finished_at"])
        for r in runs:
            now = self.server.get_run(r["id"])
            self.assertEqual(now["status"], "cancelled")
            self.assertEqual(now["cancel"]["reason"], "incident 7")
            self.assertEqual(now["cancel"]["by"], "token:bulk-ops")
            self.assertEqual(find_status(now, "nap"), "cancelled")
            # Audited as a single cancel is, naming the operation as its request.
            entries = [e for e in self.audit_of(r["id"]) if e["action"] == "run.cancel"]
            self.assertEqual(len(entries), 1)
            self.assertEqual(entries[0]["request_id"], op["id"])
            self.assertEqual(entries[0]["actor"], "token:bulk-ops")
            self.assertEqual(entries[0]["reason"], "incident 7")
            self.assertEqual((entries[0]["status_before"], entries[0]["status_after"]),
                             ("waiting", "cancelled"))
        self.assertEqual(self.server.get_run(other["id"])["status"], "waiting")
        # The operation itself is audited: started and completed.
        actions = sorted(e["action"] for e in self.audit_of(op["id"]))
        self.assertEqual(actions, ["operation.cancel", "operation.complete"])

    def test_run_ids_cancel_exactly_the_runs_named(self):
        runs = self.waiting_runs(4, "picked")
        picked = [runs[0]["id"], runs[2]["id"]]
        # A string of comma-separated ids is the same filter as an array.
        preview = self.assertStatus(self.bulk({"filter": {"run_ids": ",".join(picked)},
                                               "action": "cancel", "preview": True}), 200)
        self.assertEqual(preview, {"count": 2, "sample": sorted(picked, reverse=True)})
        # Another workspace names them in vain.
        other = self.server.create_workspace("bulk-picked-other")
        elsewhere = self.server.request("POST", "/api/v1/runs/bulk",
                                        {"filter": {"run_ids": picked}, "action": "cancel",
                                         "preview": True}, token=other)
        self.assertEqual(self.assertStatus(elsewhere, 200), {"count": 0, "sample": []})

        op = self.start_op({"filter": {"run_ids": picked}, "action": "cancel",
                            "reason": "picked by hand"})
        self.assertEqual(op["filter"], {"run_ids": picked})
        self.assertEqual(op["total"], 2)
        done = self.wait_op(op["id"])
        self.assertEqual((done["done"], done["skipped"], done["failed"]), (2, 0, 0))
        for r in runs:
            now = self.server.get_run(r["id"])
            if r["id"] in picked:
                self.assertEqual(now["status"], "cancelled")
                self.assertEqual(now["cancel"]["reason"], "picked by hand")
            else:
                self.assertEqual((now["status"], now["version"]), ("waiting", r["version"]))
        # With a status filter, a named run that is no longer in it is not taken.
        op = self.start_op({"filter": {"run_ids": [runs[1]["id"], runs[2]["id"]],
                                       "status": "waiting"}, "action": "cancel"})
        self.assertEqual(op["total"], 1)
        self.assertEqual(self.wait_op(op["id"])["done"], 1)
        self.assertEqual(self.server.get_run(runs[1]["id"])["status"], "cancelled")
        self.assertEqual(self.server.get_run(runs[3]["id"])["status"], "waiting")

    def test_pause_then_resume_of_running_runs(self):
        runs, wf = self.running_runs(3, "pause")
        op = self.start_op({"filter": {"status": "running", "workflow_id": wf},
                            "action": "pause"})
        self.assertEqual(op["total"], 3)
        done = self.wait_op(op["id"])
        self.assertEqual((done["done"], done["skipped"], done["failed"]), (3, 0, 0))
        for r in runs:
            now = self.server.get_run(r["id"])
            self.assertEqual(now["status"], "paused")
            self.assertEqual(now["pause"]["reason"], "operator")
        op = self.start_op({"filter": {"status": "paused", "workflow_id": wf},
                            "action": "resume"})
        done = self.wait_op(op["id"])
        self.assertEqual((done["total"], done["done"], done["skipped"], done["failed"]),
                         (3, 3, 0, 0))
        for r in runs:
            self.assertNotEqual(self.server.get_run(r["id"])["status"], "paused")
        # Tidy: cancel them in one more operation.
        self.wait_op(self.start_op({"filter": {"workflow_id": wf}, "action": "cancel"})["id"])

    def test_runs_the_action_does_not_allow_are_skipped_not_forced(self):
        waiting = self.waiting_runs(2, "mixed")
        finished = self.server.run_and_wait("bulk-done", {"batch": "mixed"})
        # Pausing a waiting run is not allowed; cancelling a completed one neither.
        op = self.start_op({"filter": {"input.batch": "mixed"}, "action": "pause"})
        done = self.wait_op(op["id"])
        self.assertEqual((done["total"], done["done"], done["skipped"], done["failed"]),
                         (3, 0, 3, 0))
        op = self.start_op({"filter": {"input.batch": "mixed"}, "action": "cancel"})
        done = self.wait_op(op["id"])
        self.assertEqual((done["total"], done["done"], done["skipped"], done["failed"]),
                         (3, 2, 1, 0))
        self.assertEqual(self.server.get_run(finished["id"])["status"], "completed")
        for r in waiting:
            self.assertEqual(self.server.get_run(r["id"])["status"], "cancelled")

    def test_a_run_changed_meanwhile_is_counted_skipped(self):
        """Single cancels (by the admin) race the operation (by the operator): each run
        is cancelled once, by one of them, and the operation counts as done exactly the
        runs it cancelled and as skipped the runs it had fixed that the admin got first."""
        runs = self.waiting_runs(60, "race")

        def cancel_singly():
            for r in reversed(runs):
                self.server.control(r["id"], "cancel")

        racer = threading.Thread(target=cancel_singly)
        racer.start()
        op = self.start_op({"filter": {"status": "waiting", "input.batch": "race"},
                            "action": "cancel"})
        racer.join()
        done = self.wait_op(op["id"])
        self.assertEqual(done["done"] + done["skipped"] + done["failed"], done["total"])
        self.assertEqual(done["failed"], 0)
        by = {}
        for r in runs:
            now = self.server.get_run(r["id"])
            self.assertEqual(now["status"], "cancelled")
            by[now["cancel"]["by"]] = by.get(now["cancel"]["by"], 0) + 1
        self.assertEqual(done["done"], by.get("token:bulk-ops", 0))
        self.assertEqual(by.get("token:bulk-ops", 0) + by.get("token:admin", 0), 60)
        # Runs the admin cancelled before the operation fixed its runs are not in it.
        self.assertLessEqual(done["skipped"], by.get("token:admin", 0))

    def test_replay_of_failed_runs(self):
        s = self.server
        failed = [s.run_and_wait("bulk-fail", {"batch": "replay"}) for _ in range(2)]
        op = self.start_op({"filter": {"workflow_id": "bulk-fail", "input.batch": "replay",
                                       "status": "failed"}, "action": "replay"})
        done = self.wait_op(op["id"])
        self.assertEqual((done["total"], done["done"]), (2, 2))
        for r in failed:
            listed = s.request("GET", "/api/v1/runs?workflow_id=bulk-fail&limit=100")
            replays = [x for x in self.assertStatus(listed, 200)["items"]
                       if x.get("replay_of") == r["id"]]
            self.assertEqual(len(replays), 1)

    def test_bad_requests_are_400_and_change_nothing(self):
        runs = self.waiting_runs(1, "bad")
        good = {"filter": {"input.batch": "bad"}, "action": "cancel"}
        cases = [
            (dict(good, action="explode"), "action"),
            ({"filter": {"input.batch": "bad"}}, "action"),
            ({"action": "cancel"}, "filter"),
            (dict(good, filter="status=waiting"), "filter"),
            (dict(good, filter={"colour": "red"}), "colour"),
            (dict(good, filter={"status": "sleepy"}), "status"),
            (dict(good, filter={"status": ["waiting", 3]}), "status"),
            (dict(good, filter={"pause_reason": "bored"}), "pause_reason"),
            (dict(good, filter={"created_after": "yesterday"}), "created_after"),
            (dict(good, filter={"workflow_version": 0}), "workflow_version"),
            (dict(good, filter={"input.batch": {"nested": 1}}), "input.batch"),
            (dict(good, filter={"limit": 5}), "limit"),
            (dict(good, filter={"cursor": runs[0]["id"]}), "cursor"),
            (dict(good, filter={"run_ids": []}), "run_ids"),
            (dict(good, filter={"run_ids": ""}), "run_ids"),
            (dict(good, filter={"run_ids": "everything"}), "run_ids"),
            (dict(good, filter={"run_ids": [runs[0]["id"], 7]}), "run_ids"),
            (dict(good, filter={"run_ids": [runs[0]["id"] + "," + runs[0]["id"]]}), "run_ids"),
            (dict(good, filter={"run_ids": {"id": runs[0]["id"]}}), "run_ids"),
            (dict(good, filter={"run_ids": [runs[0]["id"]] * 501}), "run_ids"),
            (dict(good, reason=7), "reason"),
            (dict(good, action="pause", reason="why"), "reason"),
            (dict(good, reason="x" * 1001), "reason"),
            (dict(good, preview="yes"), "preview"),
            (dict(good, colour="red"), None),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                err = self.assertError(self.bulk(body), 400)
                if field is not None:
                    self.assertEqual(err.get("field"), field, err)
        resp = self.server.request("POST", "/api/v1/runs/bulk", raw_body="{not json",
                                   token=self.ops)
        self.assertError(resp, 400)
        now = self.server.get_run(runs[0]["id"])
        self.assertEqual((now["status"], now["version"]), ("waiting", runs[0]["version"]))
        self.assertFalse([e for e in self.audit_of(runs[0]["id"]) if e["action"] == "run.cancel"])

    def test_unknown_and_other_workspace_operations_are_404(self):
        self.assertError(self.server.request("GET", "/api/v1/operations/op_nope",
                                             token=self.viewer), 404, "not_found")
        op = self.start_op({"filter": {"workflow_id": "bulk-nothing"}, "action": "cancel"})
        self.assertEqual(op["total"], 0)
        self.assertEqual(self.wait_op(op["id"])["status"], "completed")
        other = self.server.create_workspace("bulk-other")
        self.assertError(self.server.request("GET", f"/api/v1/operations/{op['id']}",
                                             token=other), 404, "not_found")
        # Its filter sees only its own workspace's runs.
        self.waiting_runs(1, "ws")
        preview = self.server.request("POST", "/api/v1/runs/bulk",
                                      {"filter": {"input.batch": "ws"}, "action": "cancel",
                                       "preview": True}, token=other)
        self.assertEqual(self.assertStatus(preview, 200), {"count": 0, "sample": []})

    def test_roles(self):
        body = {"filter": {"input.batch": "roles"}, "action": "cancel"}
        self.assertError(self.bulk(body, token=self.viewer), 403, "forbidden")
        self.assertError(self.bulk(dict(body, preview=True), token=self.viewer), 403,
                         "forbidden")
        self.assertError(self.server.request("POST", "/api/v1/runs/bulk", body, token=None),
                         401)
        op = self.start_op(body)  # an operator may
        self.assertEqual(self.get_op(op["id"], token=self.viewer)["id"], op["id"])
        self.wait_op(op["id"])


def find_status(run, step_id):
    for step in run.get("steps", []):
        if step.get("id") == step_id:
            return step.get("status")
    return None


class BulkRestartTest(E2ETestCase):
    N = 3000

    def test_operation_interrupted_by_a_kill_finishes_after_the_restart(self):
        s = self.start_test_server()
        s.put_workflow({"id": "bulk-restart", "steps": [
            {"id": "nap", "type": "sleep", "with": {"duration": "1h"}}]})
        for _ in range(self.N):
            s.start_run("bulk-restart")
        wait_until(lambda: self.count(s, "waiting") == self.N, timeout=120,
                   desc=f"{self.N} runs waiting")
        resp = s.request("POST", "/api/v1/runs/bulk",
                         {"filter": {"status": "waiting", "workflow_id": "bulk-restart"},
                          "action": "cancel", "reason": "restart"})
        op = self.assertStatus(resp, 202)["operation"]
        s.kill()  # at once: mid-operation
        self.assertEqual(op["total"], self.N)
        pending = self.pending_after_kill(s, op["id"])
        s.start()
        done = wait_until(
            lambda: (lambda o: o if o["status"] == "completed" else None)(
                self.assertStatus(s.request("GET", f"/api/v1/operations/{op['id']}"),
                                  200)["operation"]),
            timeout=120, desc="the operation completed after the restart")
        self.assertEqual(done["total"], self.N)
        self.assertEqual(done["done"] + done["skipped"] + done["failed"], self.N)
        self.assertEqual(done["failed"], 0)
        self.assertEqual(self.count(s, "cancelled"), self.N)
        self.assertEqual(self.count(s, "waiting"), 0)
        if pending is not None:
            # The kill did land mid-operation: the restart had runs left to do.
            self.assertGreater(pending, 0, "the operation ended before the kill")
            self.assertIn("resuming 1 bulk operation", s.log_text())

    @staticmethod
    def count(server, status):
        n, cursor = 0, None
        for _ in range(1000):
            q = f"/api/v1/runs?workflow_id=bulk-restart&status={status}&limit=500"
            resp = server.request("GET", q + (f"&cursor={cursor}" if cursor else ""))
            page = resp.json
            n += len(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return n
        return n

    @staticmethod
    def pending_after_kill(server, op_id):
        """Runs of the operation still pending in the SQLite file (None on PostgreSQL)."""
        if on_postgres():
            return None
        db = sqlite3.connect(os.path.join(store_paths(server)[0], "stepwell.db"))
        try:
            return db.execute("SELECT COUNT(*) FROM operation_runs WHERE operation_id = ? AND "
                              "state = 'pending'", (op_id,)).fetchone()[0]
        finally:
            db.close()


if __name__ == "__main__":
    unittest.main()
