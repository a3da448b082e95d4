"""Run controls: every row of the allowed-actions table, every 409, preconditions,
ETag, cancel reason/by, DELETE, pause and cancel with an HTTP step in flight, audit."""

import re
import time
import unittest

from harness import E2ETestCase, TERMINAL, etag_version, find_step, http_step, noop

ALLOWED = {
    "pending": ["pause", "cancel"],
    "running": ["pause", "cancel"],
    "paused": ["resume", "cancel"],
    "waiting": ["cancel"],
    "completed": [],
    "failed": [],
    "cancelled": [],
}
STALE = "State changed; please refresh"


def cannot(action, run_id, status):
    return f"Cannot {action} workflow run {run_id} with status {status}"


class ControlsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = cls.start_target()
        cls.server = cls.start_server(allow_private_targets=True)
        s = cls.server
        s.put_workflow({"id": "ctl-sleep", "steps": [
            {"id": "nap", "type": "sleep", "with": {"duration": "1h"}}, noop("after", 1)]})
        s.put_workflow({"id": "ctl-done", "steps": [noop("a", "done")]})
        s.put_workflow({"id": "ctl-fail", "steps": [
            {"id": "f", "type": "fail", "with": {"message": "nope", "code": "nope"}}]})
        cls.ops = s.create_token("operator", "e2e-ops")

    def setUp(self):
        self._blocked = []
        self.addCleanup(self._release_all)

    def _release_all(self):
        for path in self._blocked:
            self.target.release(path)

    def blocking_workflow(self, name):
        """[http a -> blocked path, http b -> counted path, noop c]."""
        t = self.target
        path_a = t.route(t.unique_path(f"{name}-a"), body={"step": "a"}, block=True)
        path_b = t.route(t.unique_path(f"{name}-b"), body={"step": "b"})
        self._blocked.append(path_a)
        self.server.put_workflow({"id": name, "steps": [
            http_step("a", t.url(path_a), timeout="1h"),
            http_step("b", t.url(path_b), timeout="1h"),
            noop("c", "c-done")]})
        return path_a, path_b

    def running_run(self, name):
        """A run whose first step (an HTTP call) is in flight and held by the target."""
        path_a, path_b = self.blocking_workflow(name)
        run = self.server.start_run(name)
        self.target.wait_for_request(path_a)
        run = self.server.wait_status(run["id"], "running")
        return run, path_a, path_b

    def waiting_run(self):
        run = self.server.start_run("ctl-sleep")
        return self.server.wait_status(run["id"], "waiting")

    def assert_refused(self, run, action, status):
        """`action` is refused with 409 invalid_transition and changes nothing."""
        s = self.server
        before = s.get_run(run["id"])
        self.assertEqual(before["status"], status)
        resp = s.control(run["id"], action)
        self.assertError(resp, 409, "invalid_transition", cannot(action, run["id"], status))
        after = s.get_run(run["id"])
        self.assertEqual(after["status"], status)
        self.assertEqual(after["version"], before["version"])

    def assert_allowed_actions(self, run, status):
        self.assertEqual(run["status"], status)
        self.assertEqual(run["allowed_actions"], ALLOWED[status], f"status {status}")

    # ------------------------------------------------------------ table rows

    def test_row_pending(self):
        s, t = self.server, self.target
        path_a, path_b = self.blocking_workflow("ctl-pending")
        run = s.start_run("ctl-pending")
        self.assert_allowed_actions(run, "pending")

        # The run may leave `pending` at any moment; whatever it was, resume is refused
        # and the message names the status the run had.
        resp = s.control(run["id"], "resume")
        err = self.assertError(resp, 409, "invalid_transition")
        m = re.fullmatch(rf"Cannot resume workflow run {re.escape(run['id'])} with status "
                         r"(pending|running)", err["message"])
        self.assertIsNotNone(m, err["message"])

        paused = self.assertStatus(s.control(run["id"], "pause"), 200)
        self.assert_allowed_actions(paused, "paused")
        self.assertEqual(paused["pause"]["reason"], "operator")
        resumed = self.assertStatus(s.control(run["id"], "resume"), 200)
        self.assertIn(resumed["status"], ("pending", "running"))
        self.assert_allowed_actions(resumed, resumed["status"])
        self.assertIsNone(resumed["pause"])

        t.release(path_a)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed")
        self.assertEqual(done["output"], "c-done")
        self.assertEqual((t.hits(path_a), t.hits(path_b)), (1, 1))

        # Cancel straight after start (from pending or running) is allowed.
        run2 = s.start_run("ctl-done")
        self.assert_allowed_actions(run2, "pending")
        resp = s.control(run2["id"], "cancel")
        if resp.status == 409:
            # Only possible if the one-noop run already completed.
            self.assertError(resp, 409, "invalid_transition",
                             cannot("cancel", run2["id"], "completed"))
        else:
            self.assertEqual(self.assertStatus(resp, 200)["status"], "cancelled")

    def test_row_running(self):
        s = self.server
        run, path_a, _ = self.running_run("ctl-running")
        self.assert_allowed_actions(run, "running")
        self.assert_refused(run, "resume", "running")
        resp = s.control(run["id"], "pause")
        paused = self.assertStatus(resp, 200)
        self.assert_allowed_actions(paused, "paused")
        self.assertEqual(etag_version(resp), paused["version"])
        self.assertGreater(paused["version"], run["version"])
        resp = s.control(run["id"], "cancel")
        self.assertEqual(self.assertStatus(resp, 200)["status"], "cancelled")

    def test_row_paused(self):
        s = self.server
        run, path_a, path_b = self.running_run("ctl-paused")
        paused = self.assertStatus(s.control(run["id"], "pause"), 200)
        self.assert_allowed_actions(paused, "paused")
        self.assertEqual(paused["pause"]["reason"], "operator")
        self.assertEqual(paused["pause"]["by"], "token:admin")
        self.assertTime(paused["pause"]["at"])
        self.assertEqual(s.get_run(run["id"])["status"], "paused")
        self.assert_refused(run, "pause", "paused")

        resumed = self.assertStatus(s.control(run["id"], "resume"), 200)
        # Back to where it was paused from.
        self.assert_allowed_actions(resumed, "running")
        self.assertIsNone(resumed["pause"])
        self.assertGreater(resumed["version"], paused["version"])

        again = self.assertStatus(s.control(run["id"], "pause"), 200)
        cancelled = self.assertStatus(s.control(run["id"], "cancel"), 200)
        self.assert_allowed_actions(cancelled, "cancelled")
        self.assertGreater(cancelled["version"], again["version"])

    def test_row_waiting(self):
        s = self.server
        run = self.waiting_run()
        self.assert_allowed_actions(run, "waiting")
        self.assertEqual(run["wait"]["kind"], "timer")
        self.assert_refused(run, "pause", "waiting")
        self.assert_refused(run, "resume", "waiting")
        cancelled = self.assertStatus(s.control(run["id"], "cancel"), 200)
        self.assert_allowed_actions(cancelled, "cancelled")

    def test_row_completed(self):
        run = self.server.run_and_wait("ctl-done")
        self.assert_allowed_actions(run, "completed")
        for action in ("pause", "resume", "cancel"):
            self.assert_refused(run, action, "completed")
        self.assertEqual(self.server.get_run(run["id"])["output"], "done")

    def test_row_failed(self):
        run = self.server.run_and_wait("ctl-fail")
        self.assert_allowed_actions(run, "failed")
        for action in ("pause", "resume", "cancel"):
            self.assert_refused(run, action, "failed")

    def test_row_cancelled(self):
        s = self.server
        run = self.waiting_run()
        resp = s.control(run["id"], "cancel")
        cancelled = self.assertStatus(resp, 200)
        self.assert_allowed_actions(cancelled, "cancelled")
        self.assertEqual(cancelled["cancel"]["reason"], "Cancelled by user")
        self.assertEqual(cancelled["cancel"]["by"], "token:admin")
        self.assertTime(cancelled["cancel"]["at"])
        self.assertIsNone(cancelled["output"])
        self.assertIsNone(cancelled["error"])
        self.assertIsNone(cancelled["wait"])
        self.assertTime(cancelled["finished_at"])
        self.assertEqual(etag_version(resp), cancelled["version"])
        nap = find_step(cancelled, "nap")
        self.assertEqual(nap["status"], "cancelled")
        self.assertEqual(nap["error"]["message"], "workflow stopped by user")
        self.assertEqual(find_step(cancelled, "after")["status"], "pending")

        self.assert_refused(run, "pause", "cancelled")
        self.assert_refused(run, "resume", "cancelled")

        # Repeat cancel without a precondition: 200, nothing changes.
        for body in ({}, {"reason": "another reason"}):
            again = self.assertStatus(s.control(run["id"], "cancel", body), 200)
            self.assertEqual(again["status"], "cancelled")
            self.assertEqual(again["version"], cancelled["version"])
            self.assertEqual(again["cancel"], cancelled["cancel"])
        self.assertEqual(s.get_run(run["id"])["version"], cancelled["version"])

    # --------------------------------------------------------- preconditions

    def test_if_match_and_expected_status(self):
        s = self.server
        run, path_a, _ = self.running_run("ctl-cas")
        resp = s.api("GET", f"/api/v1/runs/{run['id']}")
        version = resp.json["version"]
        self.assertEqual(etag_version(resp), version)
        self.assertGreater(version, 1)

        stale = {"If-Match": f'"{version - 1}"'}
        err = self.assertError(s.control(run["id"], "pause", headers=stale), 409,
                               "state_changed", STALE)
        self.assertEqual(err["current_status"], "running")
        self.assertEqual(err["version"], version)
        err = self.assertError(s.control(run["id"], "cancel", headers=stale), 409,
                               "state_changed", STALE)
        self.assertEqual((err["current_status"], err["version"]), ("running", version))

        err = self.assertError(s.control(run["id"], "pause", {"expected_status": "paused"}),
                               409, "state_changed", STALE)
        self.assertEqual((err["current_status"], err["version"]), ("running", version))
        # A met precondition does not make an invalid transition valid.
        self.assertError(s.control(run["id"], "resume", {"expected_status": "running"}), 409,
                         "invalid_transition", cannot("resume", run["id"], "running"))
        self.assertEqual(s.get_run(run["id"])["version"], version)

        resp = s.control(run["id"], "pause", headers={"If-Match": f'"{version}"'})
        paused = self.assertStatus(resp, 200)
        self.assertEqual(paused["status"], "paused")
        new_version = paused["version"]
        self.assertEqual(etag_version(resp), new_version)

        err = self.assertError(
            s.control(run["id"], "cancel", headers={"If-Match": f'"{version}"'}), 409,
            "state_changed", STALE)
        self.assertEqual((err["current_status"], err["version"]), ("paused", new_version))
        err = self.assertError(s.control(run["id"], "resume", {"expected_status": "running"}),
                               409, "state_changed", STALE)
        self.assertEqual((err["current_status"], err["version"]), ("paused", new_version))

        cancelled = self.assertStatus(
            s.control(run["id"], "cancel", {"expected_status": "paused"},
                      headers={"If-Match": f'"{new_version}"'}), 200)
        self.assertEqual(cancelled["status"], "cancelled")

        # A precondition on a cancelled run that does not hold is still state_changed.
        err = self.assertError(s.control(run["id"], "cancel", {"expected_status": "waiting"}),
                               409, "state_changed", STALE)
        self.assertEqual((err["current_status"], err["version"]),
                         ("cancelled", cancelled["version"]))

    # ------------------------------------------------------- cancel details

    def test_cancel_reason_and_by(self):
        s = self.server
        run = self.waiting_run()
        resp = s.control(run["id"], "cancel", {"reason": "customer asked"},
                         token=self.ops["token"])
        body = self.assertStatus(resp, 200)
        self.assertEqual(body["status"], "cancelled")
        self.assertEqual(body["cancel"]["reason"], "customer asked")
        self.assertEqual(body["cancel"]["by"], "token:e2e-ops")
        self.assertEqual(s.get_run(run["id"])["cancel"], body["cancel"])

    def test_delete_cancels(self):
        s = self.server
        run = self.waiting_run()
        resp = s.api("DELETE", f"/api/v1/workflows/ctl-sleep/runs/{run['id']}")
        body = self.assertStatus(resp, 200)
        self.assertEqual(body["status"], "cancelled")
        self.assertIsNone(body["output"])
        self.assertIsNone(body["error"])
        self.assertEqual(body["cancel"]["reason"], "Cancelled by user")
        self.assertEqual(body["allowed_actions"], [])
        again = self.assertStatus(s.api("DELETE", f"/api/v1/workflows/ctl-sleep/runs/{run['id']}"),
                                  200)
        self.assertEqual(again["version"], body["version"])

        other = self.waiting_run()
        self.assertError(s.api("DELETE", f"/api/v1/workflows/ctl-done/runs/{other['id']}"),
                         404, "not_found")
        self.assertEqual(s.get_run(other["id"])["status"], "waiting")
        self.assertStatus(s.control(other["id"], "cancel"), 200)

        done = s.run_and_wait("ctl-done")
        self.assertError(s.api("DELETE", f"/api/v1/workflows/ctl-done/runs/{done['id']}"), 409,
                         "invalid_transition", cannot("cancel", done["id"], "completed"))
        self.assertError(
            s.api("DELETE", "/api/v1/workflows/ctl-done/runs/run_00000000000000000000000000"),
            404, "not_found")

    def test_controls_on_unknown_run_are_404(self):
        for action in ("pause", "resume", "cancel"):
            resp = self.server.control("run_00000000000000000000000000", action)
            self.assertError(resp, 404, "not_found")

    # ------------------------------------------------------ work in flight

    def test_pause_with_http_step_in_flight(self):
        s, t = self.server, self.target
        run, path_a, path_b = self.running_run("ctl-pause-flight")
        paused = self.assertStatus(s.control(run["id"], "pause"), 200)
        self.assertEqual(paused["status"], "paused")

        t.release(path_a)
        # The attempt in flight finishes and its result is kept.
        run_now = s.wait_step(run["id"], "a", "completed")
        self.assertEqual(run_now["status"], "paused")
        step_a = find_step(run_now, "a")
        self.assertEqual(step_a["output"]["status"], 200)
        self.assertEqual(step_a["output"]["body"], {"step": "a"})
        self.assertEqual(step_a["attempt"], 1)

        # No new step starts while paused: once the engine has let go of the run, `b`
        # was never called.
        s.wait_engine_idle()
        now = s.get_run(run["id"])
        self.assertEqual(now["status"], "paused")
        self.assertEqual(find_step(now, "b")["status"], "pending")
        self.assertEqual(t.hits(path_b), 0)

        resumed = self.assertStatus(s.control(run["id"], "resume"), 200)
        self.assertEqual(resumed["status"], "running")
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed")
        self.assertEqual(done["output"], "c-done")
        self.assertEqual(t.hits(path_a), 1, "a completed step ran again")
        self.assertEqual(t.hits(path_b), 1)
        self.assertEqual(find_step(done, "a")["attempt"], 1)
        self.assertEqual(find_step(done, "a")["output"], step_a["output"])

    def test_cancel_aborts_http_step_in_flight(self):
        s, t = self.server, self.target
        path_a = t.route(t.unique_path("ctl-cancel-a"), block=True)
        path_c = t.route(t.unique_path("ctl-cancel-c"))
        self._blocked.append(path_a)
        s.put_workflow({"id": "ctl-cancel-flight", "steps": [
            noop("first", "ok"),
            http_step("a", t.url(path_a), timeout="1h"),
            http_step("c", t.url(path_c)),
            noop("d", "never")]})
        run = s.start_run("ctl-cancel-flight")
        t.wait_for_request(path_a)
        s.wait_status(run["id"], "running")

        sent = time.monotonic()
        resp = s.control(run["id"], "cancel")
        body = self.assertStatus(resp, 200)
        self.assertEqual(body["status"], "cancelled")  # at once, in the same request
        self.assertIsNone(body["output"])

        hung = t.wait_for_hangup(path_a, timeout=5)
        self.assertLess(hung["hung_up_at"] - sent, 2.0,
                        "the target saw the connection close too late")

        def settled(r):
            return find_step(r, "a")["status"] == "cancelled"

        final = s.wait_for(run["id"], settled, desc="step a cancelled")
        self.assertEqual(final["status"], "cancelled")
        self.assertIsNone(final["output"])
        self.assertIsNone(final["error"])
        self.assertEqual(find_step(final, "first")["status"], "completed")
        self.assertEqual(find_step(final, "first")["output"], "ok")
        step_a = find_step(final, "a")
        self.assertEqual(step_a["error"]["message"], "workflow stopped by user")
        for sid in ("c", "d"):
            self.assertEqual(find_step(final, sid)["status"], "pending")
        self.assertEqual(t.hits(path_c), 0)
        self.assertEqual(t.hits(path_a), 1)

    # ------------------------------------------------------------------ audit

    def test_audit_entries(self):
        s = self.server
        op = s.create_token("operator", "e2e-audit-op")
        run, path_a, _ = self.running_run("ctl-audit")
        tok = op["token"]
        self.assertStatus(s.control(run["id"], "pause", token=tok,
                                    headers={"X-Request-Id": "e2e-pause-1"}), 200)
        self.assertStatus(s.control(run["id"], "resume", token=tok,
                                    headers={"X-Request-Id": "e2e-resume-1"}), 200)
        self.assertStatus(s.control(run["id"], "cancel", {"reason": "done here"}, token=tok,
                                    headers={"X-Request-Id": "e2e-cancel-1"}), 200)

        resp = s.api("GET", f"/api/v1/audit?target={run['id']}")
        body = self.assertStatus(resp, 200)
        self.assertIn("next_cursor", body)
        entries = body["items"]
        self.assertEqual([e["action"] for e in entries], ["run.cancel", "run.resume", "run.pause"])
        expected = [("running", "cancelled", "e2e-cancel-1"),
                    ("paused", "running", "e2e-resume-1"),
                    ("running", "paused", "e2e-pause-1")]
        for entry, (before, after, request_id) in zip(entries, expected):
            self.assertEqual(entry["actor"], "token:e2e-audit-op")
            self.assertEqual(entry["target"], run["id"])
            self.assertEqual(entry["status_before"], before)
            self.assertEqual(entry["status_after"], after)
            self.assertEqual(entry["request_id"], request_id)
            self.assertTime(entry["at"])
            self.assertTrue(entry["id"])
        self.assertEqual(entries[0]["reason"], "done here")

        # Only this run's entries.
        other = self.waiting_run()
        self.assertStatus(s.control(other["id"], "cancel"), 200)
        body = self.assertStatus(s.api("GET", f"/api/v1/audit?target={run['id']}"), 200)
        self.assertEqual(len(body["items"]), 3)
        body = self.assertStatus(s.api("GET", f"/api/v1/audit?target={other['id']}"), 200)
        self.assertEqual([e["action"] for e in body["items"]], ["run.cancel"])
        self.assertEqual(body["items"][0]["actor"], "token:admin")
        self.assertEqual((body["items"][0]["status_before"], body["items"][0]["status_after"]),
                         ("waiting", "cancelled"))


if __name__ == "__main__":
    unittest.main()
