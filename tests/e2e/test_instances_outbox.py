"""The notification outbox on two instances of one PostgreSQL database (run only with
STEPWELL_TEST_STORE=postgres, as e2e_pg_test_instances_outbox): both instances' outboxes
see every due delivery, and each attempt is sent by the one that claimed it, so every
receiver gets each notification exactly once.

The receiver holds its answers for a while, so that the deliveries stay pending (in
flight) across several looks of the other instance's outbox (at least one a second):
without claims, that instance would send them again.
"""

import time
import unittest

from harness import E2ETestCase, on_postgres, scaled, wait_until

APPROVAL_WF = {"id": "iob-gate", "steps": [
    {"id": "gate", "type": "approval", "with": {"message": "Ship it?"}}]}
RUNS = 12


@unittest.skipUnless(on_postgres(), "several instances share a PostgreSQL database")
class OutboxAcrossInstancesTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.target = cls.start_target()
        cls.a = cls.start_server(allow_private_targets=True)
        cls.b = cls.start_server(allow_private_targets=True, instance_of=cls.a)
        cls.a.put_workflow(APPROVAL_WF)

    def test_each_delivery_is_received_exactly_once(self):
        t = self.target
        hooks = [t.route(t.unique_path("iob"), block=True) for _ in range(2)]
        r = self.a.request("PUT", "/api/v1/notification-channels",
                           {"webhooks": [{"url": t.url(h), "format": "json"} for h in hooks]})
        self.assertEqual(r.status, 200, r.text)
        # Notifications committed on both instances: each pokes its own outbox.
        runs = [(self.a, self.b)[i % 2].start_run(APPROVAL_WF["id"])["id"] for i in range(RUNS)]
        for run_id in runs:
            self.a.wait_status(run_id, "waiting")
        for h in hooks:
            t.wait_for_request(h, count=RUNS, timeout=20)
        # Held across two looks of the other outbox, at least.
        time.sleep(scaled(2.5))
        for h in hooks:
            t.release(h)

        def delivered():
            items = self.b.list_all("/api/v1/notifications/deliveries")
            mine = [d for d in items if any(d["target"] == t.url(h) for h in hooks)]
            return len(mine) == 2 * RUNS and all(d["status"] == "delivered" for d in mine) \
                and mine

        deliveries = wait_until(delivered, timeout=20, desc="every delivery delivered")
        for d in deliveries:
            self.assertEqual(d["attempts"], 1, d)
        for h in hooks:
            received = [rec["json"]["id"] for rec in t.requests(h)]
            self.assertEqual(len(received), RUNS, received)
            self.assertEqual(len(set(received)), RUNS, received)  # none twice


if __name__ == "__main__":
    unittest.main()
