"""Waits on a fake clock: sleep, sleep_until, wait_for_event (delivered, buffered,
timed out), cancel of a waiting run, events to unknown runs."""

import unittest
from datetime import timedelta

from harness import E2ETestCase, TERMINAL, find_step, format_time, noop, parse_time

HOUR_MS = 3600 * 1000


class WaitsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server(fake_clock=True)

    def advance_and_assert_unchanged(self, run, ms):
        """Advances the clock by `ms`; once every timer due by then has fired, the run
        still has the status and the wait it had."""
        s = self.server
        before = s.get_run(run["id"])
        s.advance_clock_and_settle(ms)
        after = s.get_run(run["id"])
        self.assertEqual((after["status"], after["wait"]), (before["status"], before["wait"]))

    def test_sleep_wakes_when_clock_advances(self):
        s = self.server
        s.put_workflow({"id": "w-sleep", "steps": [
            noop("before", 1),
            {"id": "nap", "type": "sleep", "with": {"duration": "1h"}},
            noop("after", "woke")]})
        run = s.start_run("w-sleep")
        run = s.wait_status(run["id"], "waiting")
        wait = run["wait"]
        self.assertEqual(set(wait) >= {"kind", "step_id", "until"}, True, wait)
        self.assertEqual(wait["kind"], "timer")
        self.assertEqual(wait["step_id"], "nap")
        until = parse_time(wait["until"])
        nap = find_step(run, "nap")
        self.assertEqual(nap["status"], "waiting")
        started = parse_time(nap["started_at"])
        self.assertLessEqual(abs((until - started) - timedelta(hours=1)), timedelta(seconds=1))
        self.assertEqual(run["allowed_actions"], ["cancel"])

        self.advance_and_assert_unchanged(run, HOUR_MS - 60_000)
        s.advance_clock(61_000)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed")
        self.assertEqual(done["output"], "woke")
        self.assertIsNone(done["wait"])
        nap = find_step(done, "nap")
        self.assertEqual(nap["status"], "completed")
        self.assertIsNone(nap["output"])
        self.assertGreaterEqual(parse_time(nap["finished_at"]), until)

    def test_sleep_until(self):
        s = self.server
        now = s.fake_now()
        at = format_time(now + timedelta(hours=2))
        s.put_workflow({"id": "w-sleep-until", "steps": [
            {"id": "until", "type": "sleep_until", "with": {"at": at}},
            noop("after", "on time")]})
        run = s.start_run("w-sleep-until")
        run = s.wait_status(run["id"], "waiting")
        self.assertEqual(run["wait"]["kind"], "timer")
        self.assertEqual(run["wait"]["step_id"], "until")
        self.assertEqual(run["wait"]["until"], at)
        self.advance_and_assert_unchanged(run, HOUR_MS)
        s.advance_clock(HOUR_MS + 1000)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed")
        self.assertEqual(done["output"], "on time")

    def test_sleep_until_in_the_past_goes_on(self):
        s = self.server
        past = format_time(s.fake_now() - timedelta(days=1))
        s.put_workflow({"id": "w-sleep-past", "steps": [
            {"id": "until", "type": "sleep_until", "with": {"at": past}},
            noop("after", "no wait")]})
        done = s.run_and_wait("w-sleep-past")
        self.assertEqual(done["status"], "completed")
        self.assertEqual(done["output"], "no wait")

    def test_wait_for_event_delivered(self):
        s = self.server
        s.put_workflow({"id": "w-event", "steps": [
            {"id": "w", "type": "wait_for_event",
             "with": {"event_type": "approve", "timeout": "1h"}},
            noop("after", {"ok": "${{ steps.w.output.payload.ok }}"})]})
        run = s.start_run("w-event")
        now = s.fake_now()
        run = s.wait_status(run["id"], "waiting")
        wait = run["wait"]
        self.assertEqual((wait["kind"], wait["step_id"], wait["event_type"]),
                         ("event", "w", "approve"))
        until = parse_time(wait["until"])
        self.assertLessEqual(abs(until - (now + timedelta(hours=1))), timedelta(seconds=1))

        # An event of another type is buffered; the run keeps waiting.
        resp = s.send_event(run["id"], "other", {"x": 1})
        self.assertEqual(self.assertStatus(resp, 202), {"delivered": False})
        self.assertEqual(s.get_run(run["id"])["status"], "waiting")

        resp = s.send_event(run["id"], "approve", {"ok": True, "by": "me"})
        self.assertEqual(self.assertStatus(resp, 202), {"delivered": True})
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed")
        self.assertEqual(find_step(done, "w")["output"], {"payload": {"ok": True, "by": "me"}})
        self.assertEqual(done["output"], {"ok": True})

        # An event to a finished run.
        self.assertError(s.send_event(run["id"], "approve", {}), 409, "invalid_transition")

    def test_wait_for_event_without_timeout(self):
        s = self.server
        s.put_workflow({"id": "w-event-forever", "steps": [
            {"id": "w", "type": "wait_for_event", "with": {"event_type": "ping"}}]})
        run = s.start_run("w-event-forever")
        run = s.wait_status(run["id"], "waiting")
        self.assertEqual(run["wait"]["kind"], "event")
        self.assertIsNone(run["wait"]["until"])
        self.advance_and_assert_unchanged(run, 30 * 24 * HOUR_MS)
        self.assertEqual(self.assertStatus(s.send_event(run["id"], "ping", [1, 2]), 202),
                         {"delivered": True})
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["output"], {"payload": [1, 2]})

    def test_event_before_the_wait_is_buffered(self):
        s = self.server
        s.put_workflow({"id": "w-buffered", "steps": [
            {"id": "nap", "type": "sleep", "with": {"duration": "1h"}},
            {"id": "w", "type": "wait_for_event", "with": {"event_type": "early"}}]})
        run = s.start_run("w-buffered")
        s.wait_status(run["id"], "waiting")
        resp = s.send_event(run["id"], "early", {"n": 1})
        self.assertEqual(self.assertStatus(resp, 202), {"delivered": False})
        run = s.get_run(run["id"])
        self.assertEqual(run["wait"]["kind"], "timer")
        s.advance_clock(HOUR_MS + 1000)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed")
        self.assertEqual(find_step(done, "w")["output"], {"payload": {"n": 1}})
        self.assertEqual(done["output"], {"payload": {"n": 1}})

    def test_buffered_event_sent_right_after_start(self):
        s = self.server
        s.put_workflow({"id": "w-buffered-start", "steps": [
            {"id": "w", "type": "wait_for_event", "with": {"event_type": "hello"}}]})
        run = s.start_run("w-buffered-start")
        resp = s.send_event(run["id"], "hello", "hi")
        self.assertEqual(resp.status, 202, resp)
        self.assertIn(resp.json, ({"delivered": False}, {"delivered": True}))
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["output"], {"payload": "hi"})

    def test_wait_timeout_fails_the_run(self):
        s = self.server
        s.put_workflow({"id": "w-timeout", "steps": [
            {"id": "w", "type": "wait_for_event",
             "with": {"event_type": "late", "timeout": "10m"}},
            noop("after", "never")]})
        run = s.start_run("w-timeout")
        s.wait_status(run["id"], "waiting")
        self.advance_and_assert_unchanged(run, 9 * 60_000)
        s.advance_clock(2 * 60_000)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "failed")
        self.assertEqual(done["error"]["code"], "wait_timeout")
        self.assertEqual(done["error"]["step_id"], "w")
        self.assertTrue(done["error"]["message"])
        self.assertEqual(find_step(done, "w")["status"], "failed")
        self.assertEqual(find_step(done, "after")["status"], "pending")
        # A late event changes nothing.
        self.assertError(s.send_event(run["id"], "late", {}), 409, "invalid_transition")
        self.assertEqual(s.get_run(run["id"])["version"], done["version"])

    def test_cancel_waiting_run(self):
        s = self.server
        s.put_workflow({"id": "w-cancel", "steps": [
            {"id": "nap", "type": "sleep", "with": {"duration": "1h"}}, noop("after", 1)]})
        s.put_workflow({"id": "w-cancel-event", "steps": [
            {"id": "w", "type": "wait_for_event", "with": {"event_type": "x", "timeout": "1h"}}]})
        for wf, step in (("w-cancel", "nap"), ("w-cancel-event", "w")):
            with self.subTest(wf=wf):
                run = s.start_run(wf)
                s.wait_status(run["id"], "waiting")
                body = self.assertStatus(s.control(run["id"], "cancel"), 200)
                self.assertEqual(body["status"], "cancelled")
                self.assertIsNone(body["wait"])
                self.advance_and_assert_unchanged(run, 2 * HOUR_MS)
                final = s.get_run(run["id"])
                self.assertIsNone(final["error"])
                self.assertEqual(find_step(final, step)["status"], "cancelled")
                self.assertEqual(find_step(final, step)["error"]["message"],
                                 "workflow stopped by user")
                self.assertError(s.send_event(run["id"], "x", {}), 409, "invalid_transition")

    def test_event_errors(self):
        s = self.server
        resp = s.send_event("run_00000000000000000000000000", "x", {})
        self.assertError(resp, 404, "not_found")
        s.put_workflow({"id": "w-event-bad", "steps": [
            {"id": "w", "type": "wait_for_event", "with": {"event_type": "x"}}]})
        run = s.start_run("w-event-bad")
        waiting = s.wait_status(run["id"], "waiting")
        resp = s.api("POST", f"/api/v1/runs/{run['id']}/events", {"payload": {}})
        self.assertError(resp, 400, "invalid_request")
        self.assertEqual(s.get_run(run["id"])["version"], waiting["version"])
        self.assertStatus(s.control(run["id"], "cancel"), 200)

    def test_clock_route_needs_admin(self):
        s = self.server
        op = s.create_token("operator", "w-op")
        resp = s.api("POST", "/api/v1/testing/clock/advance", {"ms": 1}, token=op["token"])
        self.assertError(resp, 403, "forbidden")
        before = s.fake_now()
        after = parse_time(s.advance_clock(5000)["now"])
        self.assertEqual(after - before, timedelta(milliseconds=5000))


if __name__ == "__main__":
    unittest.main()
