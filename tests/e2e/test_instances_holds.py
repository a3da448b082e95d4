"""What one instance decides for a whole workflow or workspace holds on every instance
(run only with STEPWELL_TEST_STORE=postgres, as e2e_pg_test_instances_holds): a
throughput trip on one instance holds the workflow's runs on the other, and a resume
sent to the other goes on with the runs the first one held; billing prices set on one
instance are charged by the other; a connection deleted on one instance is gone for the
other's steps; the fake clock moved on one moves on the other, and moving it does not
make the other instance look dead (heartbeats are real time).

Each instance keeps its breakers, prices and access tokens in memory, so each test makes
the other instance use them first: what is checked is that a change made elsewhere
reaches them.
"""

import time
import unittest

from harness import E2ETestCase, noop, on_postgres, wait_until
from oauth_helpers import connection_workflow, new_client_secret, oauth2, unique

MESSAGE = "tripped the throughput cap (likely a loop or polling misconfig)"


def mixed(wf_id, limits):
    """`input.loop` true: a runaway loop of noops; else a single noop."""
    return {"id": wf_id, "limits": limits, "steps": [
        {"id": "branch", "type": "switch", "with": {
            "cases": [{"when": "${{ input.loop == true }}", "steps": [
                {"id": "l", "type": "loop", "with": {"max_iterations": 100000},
                 "steps": [noop("n", 1)]}]}],
            "default": [noop("once", 1)]}}]}


@unittest.skipUnless(on_postgres(), "several instances share a PostgreSQL database")
class InstanceHoldsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.provider = cls.start_oauth_provider(client_secret=new_client_secret())
        cls.a = cls.start_server(fake_clock=True, allow_private_targets=True)
        cls.b = cls.start_server(fake_clock=True, allow_private_targets=True, instance_of=cls.a)

    def workflow(self, server, wf_id):
        resp = server.request("GET", f"/api/v1/workflows/{wf_id}")
        self.assertEqual(resp.status, 200, resp)
        return resp.json

    def noops_done(self, run_id):
        run = self.a.get_run(run_id)
        return sum(1 for st in run["steps"] if st["id"] == "n" and st["status"] == "completed")

    def test_a_trip_on_one_instance_holds_the_other_and_a_resume_there_releases_both(self):
        a, b = self.a, self.b
        a.put_workflow(mixed("ih-loop", {"max_steps_per_minute": 50}))
        # B dispatches for the workflow first, so its breaker exists (not held).
        self.assertEqual(b.run_and_wait("ih-loop", {"loop": False})["status"], "completed")

        loop = a.start_run("ih-loop", {"loop": True})
        wait_until(lambda: self.workflow(a, "ih-loop")["status"] == "paused_safety", 30,
                   "the workflow to be paused_safety")
        a.wait_engine_idle()
        self.assertEqual(self.noops_done(loop["id"]), 50)
        # B learns of the hold (the tripping instance says so; B's beat reads it too).
        wait_until(lambda: b.get_run(loop["id"])["workflow_safety"] is not None, 10,
                   "B to show the workflow's hold on its runs")
        self.assertEqual(b.get_run(loop["id"])["workflow_safety"],
                         {"reason": "throughput_cap", "message": MESSAGE})
        held = b.start_run("ih-loop", {"loop": False})
        self.assertEqual(held["workflow_safety"]["reason"], "throughput_cap")
        b.wait_engine_idle()
        self.assertEqual(b.get_run(held["id"])["status"], "pending")

        # Resumed through B: B's pending run completes, and A's held loop goes on (a
        # fresh window of 50, then the next trip). The loop is paused during the resume
        # and resumed after B's run is through: released at once, it could trip the
        # breaker again before B's run is admitted, and B's run would rightly be held
        # again. Resumed later, it goes on only if A heard of the release.
        self.assertEqual(a.control(loop["id"], "pause").status, 200)
        resp = b.request("POST", "/api/v1/workflows/ih-loop/resume")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(resp.json["status"], "active")
        b.wait_status(held["id"], "completed")
        self.assertEqual(self.noops_done(loop["id"]), 50)
        self.assertEqual(a.control(loop["id"], "resume").status, 200)
        wait_until(lambda: self.noops_done(loop["id"]) >= 100, 30,
                   "A's loop to go on after the resume on B")
        wait_until(lambda: self.workflow(b, "ih-loop")["status"] == "paused_safety", 30,
                   "the next trip")
        a.wait_engine_idle()
        self.assertEqual(self.noops_done(loop["id"]), 100)
        self.assertEqual(a.control(loop["id"], "cancel").status, 200)

    def test_prices_set_on_one_instance_are_charged_by_the_other(self):
        a, b = self.a, self.b
        slug = "ih-billing"
        token = a.create_workspace(slug)
        a.put_workflow({"id": "ih-priced", "steps": [noop("p", 1)]}, token=token)

        def run_on_b():
            run = b.start_run("ih-priced", token=token)
            wait_until(lambda: b.get_run(run["id"], token=token)["status"] == "completed", 30,
                       "the priced run to complete")

        def spend():
            resp = a.request("GET", "/api/v1/billing", token=token)
            self.assertEqual(resp.status, 200, resp)
            return resp.json["spend"]

        run_on_b()  # B reads the workspace's prices (none) and keeps them
        self.assertEqual(spend(), 0)
        resp = a.request("PUT", "/api/v1/billing", {"prices": {"noop": 0.5}}, token=token)
        self.assertEqual(resp.status, 200, resp)
        # The change travels as a signal after A's commit: give it time to arrive (what is
        # checked is that it does, not how fast).
        time.sleep(2)
        run_on_b()
        self.assertEqual(spend(), 0.5)

    def test_a_connection_deleted_on_one_instance_is_gone_for_the_other(self):
        a, b, p = self.a, self.b, self.provider
        conn = a.create_connection(unique("ih-conn"), oauth2(p))
        wf = unique("ih-conn")
        a.put_workflow(connection_workflow(wf, conn["name"], p.api_url(wf)))
        first = b.run_and_wait(wf)  # B refreshes the token and keeps it
        self.assertEqual(first["status"], "completed", first)
        self.assertEqual(a.request("DELETE", f"/api/v1/connections/{conn['id']}").status, 204)
        time.sleep(2)  # the signal travels after A's commit (see the billing test)
        calls = p.stats()["api_calls"]
        run = b.run_and_wait(wf)
        self.assertEqual(run["status"], "failed", run)
        self.assertEqual(run["error"]["code"], "connection_not_found")
        self.assertEqual(p.stats()["api_calls"], calls)

    def test_the_fake_clock_moves_on_every_instance_and_heartbeats_stay_real(self):
        a, b = self.a, self.b
        hour = 3_600_000
        before_b = b.fake_now()
        a.advance_clock(hour)
        wait_until(lambda: (b.fake_now() - before_b).total_seconds() >= 3600, 10,
                   "B's clock to move by the hour A's moved")
        # Beats go on in real time: a second later both still list both.
        time.sleep(2.5)
        for server in (a, b):
            items = server.request("GET", "/api/v1/instances").json["items"]
            self.assertEqual(len(items), 2, items)


if __name__ == "__main__":
    unittest.main()
