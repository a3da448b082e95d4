"""The spend cap: GET/PUT /api/v1/billing, every dispatched step attempt adding its
price to the spend exactly (integer micros), the soft stage (near_cap and one
notification per period), the hard stage (no attempt dispatched past the cap: the
workflow that tries becomes paused_safety / spend_cap; resume is 409), release when
the cap is raised above the spend or the period rolls over, 16 runs racing for the last
unit of budget, and a kill -9 right after a trip.

Each test works in a workspace of its own (its own billing), on --fake-clock.
"""

import threading
import unittest
from datetime import datetime, timezone

from harness import E2ETestCase, format_time, noop, parse_time, wait_until

MESSAGE = ("This workflow paused because the account spend cap was reached. Dispatch resumes "
           "after the cap is raised or the billing period rolls over.")


def noops(wf_id, n):
    return {"id": wf_id, "steps": [noop(f"n{i}", i) for i in range(n)]}


def next_month(dt):
    return datetime(dt.year + (dt.month == 12), dt.month % 12 + 1, 1, tzinfo=timezone.utc)


class SpendTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server(fake_clock=True)
        cls.count = 0

    def workspace(self):
        type(self).count += 1
        return self.server.create_workspace(f"spend-{self.count}")

    def billing(self, token):
        resp = self.server.request("GET", "/api/v1/billing", token=token)
        self.assertEqual(resp.status, 200, resp)
        return resp.json

    def put_billing(self, token, body):
        resp = self.server.request("PUT", "/api/v1/billing", body, token=token)
        self.assertEqual(resp.status, 200, resp)
        return resp.json

    def workflow(self, token, wf_id):
        resp = self.server.request("GET", f"/api/v1/workflows/{wf_id}", token=token)
        self.assertEqual(resp.status, 200, resp)
        return resp.json

    def wait_workflow(self, token, wf_id, status):
        wait_until(lambda: self.workflow(token, wf_id)["status"] == status, 30,
                   f"{wf_id} to be {status}")
        self.server.wait_engine_idle()
        return self.workflow(token, wf_id)

    def wait_run(self, token, run_id, status):
        wait_until(lambda: self.server.get_run(run_id, token=token)["status"] == status, 30,
                   f"run {run_id} to be {status}")
        return self.server.get_run(run_id, token=token)

    def completed(self, token, run_id):
        run = self.server.get_run(run_id, token=token)
        return sum(1 for st in run["steps"] if st["status"] == "completed")

    def notifications(self, token, kind):
        return [n for n in self.server.list_all("/api/v1/notifications", token=token)
                if n["kind"] == kind]

    def test_defaults_and_period(self):
        ws = self.workspace()
        b = self.billing(ws)
        now = self.server.fake_now()
        start = datetime(now.year, now.month, 1, tzinfo=timezone.utc)
        self.assertEqual(b, {"spend_cap": None, "currency": "USD", "spend": 0,
                             "soft_threshold": 0.8, "near_cap": False, "capped": False,
                             "period_start": format_time(start),
                             "period_end": format_time(next_month(start)),
                             "prices": {"default": 0}})

    def test_bad_input_changes_nothing(self):
        s = self.server
        ws = self.workspace()
        self.put_billing(ws, {"spend_cap": 5, "prices": {"http": 0.25}})
        before = self.billing(ws)
        for body, field in (
                ({"spend_cap": -1}, "spend_cap"),
                ({"spend_cap": 0.0000001}, "spend_cap"),
                ({"spend_cap": "5"}, "spend_cap"),
                ({"spend_cap": 1e400}, None),
                ({"soft_threshold": 0}, "soft_threshold"),
                ({"soft_threshold": 1.5}, "soft_threshold"),
                ({"prices": {"nope": 1}}, "prices.nope"),
                ({"prices": {"loop": 1}}, "prices.loop"),
                ({"prices": {"http": 1.1234567}}, "prices.http"),
                ({"prices": [1]}, "prices"),
                ({"currency": "usd"}, "currency"),
                ({"spend": 0}, "spend"),
                ({"spend_cap": 10, "bogus": 1}, "bogus")):
            resp = s.request("PUT", "/api/v1/billing", body, token=ws)
            self.assertEqual(resp.status, 400, (body, resp))
            self.assertErrorShape(resp)
            if field is not None:
                self.assertEqual(resp.json["error"].get("field"), field, (body, resp))
        resp = s.request("PUT", "/api/v1/billing", raw_body=b"{", token=ws,
                         headers={"Content-Type": "application/json"})
        self.assertEqual(resp.status, 400, resp)
        viewer = s.create_token("viewer", "billing-viewer", token=ws)["token"]
        self.assertError(s.request("PUT", "/api/v1/billing", {"spend_cap": 1}, token=viewer), 403)
        self.assertEqual(self.billing(viewer), before)
        self.assertEqual(self.billing(ws), before)

    def test_put_keeps_what_it_does_not_carry_and_amounts_are_exact(self):
        s = self.server
        ws = self.workspace()
        b = self.put_billing(ws, {"spend_cap": 100.5, "currency": "EUR"})
        b = self.put_billing(ws, {"prices": {"noop": 0.1, "default": 2}})
        b = self.put_billing(ws, {"prices": {"http": 0.000001}})
        self.assertEqual(b["spend_cap"], 100.5)
        self.assertEqual(b["currency"], "EUR")
        self.assertEqual(b["prices"], {"default": 2, "noop": 0.1, "http": 0.000001})
        s.put_workflow(noops("sp-exact", 3), token=ws)
        for _ in range(3):
            run = s.start_run("sp-exact", token=ws)
            self.wait_run(ws, run["id"], "completed")
        # Nine attempts of 0.1: 0.9 exactly, not 0.8999999999999999.
        self.assertEqual(self.billing(ws)["spend"], 0.9)
        audit = s.request("GET", "/api/v1/audit?target=billing", token=ws).json["items"]
        self.assertEqual(len([a for a in audit if a["action"] == "billing.update"]), 3)

    def test_hard_cap_pauses_and_raising_it_releases(self):
        s = self.server
        ws = self.workspace()
        self.put_billing(ws, {"spend_cap": 0.003, "prices": {"default": 0.001}})
        s.put_workflow(noops("sp-hard", 5), token=ws)
        run = s.start_run("sp-hard", token=ws)
        wf = self.wait_workflow(ws, "sp-hard", "paused_safety")
        self.assertEqual(wf["safety"]["reason"], "spend_cap")
        self.assertEqual(wf["safety"]["message"], MESSAGE)
        self.assertEqual(self.completed(ws, run["id"]), 3)
        held = s.get_run(run["id"], token=ws)
        self.assertEqual(held["status"], "running")
        self.assertEqual(held["workflow_safety"], {"reason": "spend_cap", "message": MESSAGE})
        b = self.billing(ws)
        self.assertEqual((b["spend"], b["capped"], b["near_cap"]), (0.003, True, True))
        self.assertError(s.request("POST", "/api/v1/workflows/sp-hard/resume", token=ws), 409,
                         "invalid_transition")
        self.assertEqual(len(self.notifications(ws, "spend_cap")), 1)
        newer = s.start_run("sp-hard", token=ws)
        s.wait_engine_idle()
        self.assertEqual(s.get_run(newer["id"], token=ws)["status"], "pending")

        # Raised above the spend: released at once; one more attempt fits, then paused again.
        b = self.put_billing(ws, {"spend_cap": 0.004})
        self.assertFalse(b["capped"])
        self.wait_workflow(ws, "sp-hard", "paused_safety")
        self.assertEqual(self.billing(ws)["spend"], 0.004)
        self.assertEqual(self.completed(ws, run["id"]) + self.completed(ws, newer["id"]), 4)
        # No cap: everything finishes, and the spend counts every attempt.
        self.put_billing(ws, {"spend_cap": None})
        self.wait_run(ws, run["id"], "completed")
        self.wait_run(ws, newer["id"], "completed")
        self.assertEqual(self.workflow(ws, "sp-hard")["status"], "active")
        self.assertEqual(self.billing(ws)["spend"], 0.01)
        audit = s.request("GET", "/api/v1/audit?target=sp-hard", token=ws).json["items"]
        self.assertEqual(len([a for a in audit if a["action"] == "workflow.paused_safety"]), 2)
        self.assertEqual(len([a for a in audit if a["action"] == "workflow.safety_cleared"]), 2)

    def test_soft_stage_notifies_once_and_stops_nothing(self):
        s = self.server
        ws = self.workspace()
        self.put_billing(ws, {"spend_cap": 1, "soft_threshold": 0.5, "prices": {"noop": 0.1}})
        s.put_workflow(noops("sp-soft", 4), token=ws)
        first = s.start_run("sp-soft", token=ws)
        self.wait_run(ws, first["id"], "completed")
        self.assertFalse(self.billing(ws)["near_cap"])
        self.assertEqual(self.notifications(ws, "spend_near_cap"), [])
        second = s.start_run("sp-soft", token=ws)
        self.wait_run(ws, second["id"], "completed")
        b = self.billing(ws)
        self.assertEqual((b["spend"], b["near_cap"], b["capped"]), (0.8, True, False))
        near = self.notifications(ws, "spend_near_cap")
        self.assertEqual(len(near), 1, near)
        self.assertTrue(near[0]["link"].endswith("/billing"), near[0])

    def test_period_rollover_releases_and_starts_afresh(self):
        s = self.server
        ws = self.workspace()
        self.put_billing(ws, {"spend_cap": 0.002, "prices": {"default": 0.001},
                              "soft_threshold": 0.5})
        s.put_workflow(noops("sp-roll", 4), token=ws)
        run = s.start_run("sp-roll", token=ws)
        self.wait_workflow(ws, "sp-roll", "paused_safety")
        self.assertEqual(self.completed(ws, run["id"]), 2)
        before = self.billing(ws)
        end = parse_time(before["period_end"])
        now = s.fake_now()
        s.advance_clock(int((end - now).total_seconds() * 1000) - 5)
        s.wait_engine_idle()
        self.assertEqual(self.workflow(ws, "sp-roll")["status"], "paused_safety")
        s.advance_clock(10)  # into the next period
        self.wait_run(ws, run["id"], "completed")
        self.assertEqual(self.workflow(ws, "sp-roll")["status"], "active")
        after = self.billing(ws)
        self.assertEqual(after["period_start"], before["period_end"])
        self.assertEqual((after["spend"], after["capped"]), (0.002, False))
        # The soft stage is once per period: once in each.
        self.assertEqual(len(self.notifications(ws, "spend_near_cap")), 2)

    def test_sixteen_runs_race_for_the_last_unit(self):
        s = self.server
        ws = self.workspace()
        self.put_billing(ws, {"prices": {"noop": 1}})
        s.put_workflow(noops("sp-fill", 9), token=ws)
        self.wait_run(ws, s.start_run("sp-fill", token=ws)["id"], "completed")
        self.assertEqual(self.put_billing(ws, {"spend_cap": 10})["spend"], 9)
        for i in range(16):
            s.put_workflow(noops(f"sp-race-{i}", 1), token=ws)
        runs = [None] * 16

        def start(i):
            runs[i] = s.start_run(f"sp-race-{i}", token=ws)

        threads = [threading.Thread(target=start, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wait_until(lambda: sum(self.workflow(ws, f"sp-race-{i}")["status"] == "paused_safety"
                               for i in range(16)) == 15, 30, "15 workflows paused")
        s.wait_engine_idle()
        done = [s.get_run(r["id"], token=ws)["status"] for r in runs]
        self.assertEqual(done.count("completed"), 1, done)
        self.assertEqual(done.count("pending"), 15, done)
        b = self.billing(ws)
        self.assertEqual((b["spend"], b["capped"]), (10, True))

    def test_kill_after_a_trip_keeps_the_trip_and_its_notification(self):
        s = self.server
        ws = self.workspace()
        self.put_billing(ws, {"spend_cap": 0.001, "prices": {"default": 0.001}})
        s.put_workflow(noops("sp-kill", 3), token=ws)
        run = s.start_run("sp-kill", token=ws)
        wait_until(lambda: self.billing(ws)["capped"], 30, "the workspace to be capped")
        s.restart()  # kill -9
        s.wait_engine_idle()
        wf = self.workflow(ws, "sp-kill")
        self.assertEqual(wf["status"], "paused_safety")
        self.assertEqual(len(self.notifications(ws, "spend_cap")), 1)
        self.assertEqual(self.completed(ws, run["id"]), 1)
        b = self.billing(ws)
        self.assertEqual((b["spend"], b["capped"]), (0.001, True))
        self.put_billing(ws, {"spend_cap": 1})
        self.wait_run(ws, run["id"], "completed")
        self.assertEqual(self.billing(ws)["spend"], 0.003)


if __name__ == "__main__":
    unittest.main()
