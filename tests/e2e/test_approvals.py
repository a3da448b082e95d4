"""Approvals (API.md "Approvals") against the real binary on a fake clock: the wait,
decisions and who may make them, N of M, every timeout policy, deny policies, cancel
closing the approval, magic links, races, bad input, and a kill -9 in the middle."""

import threading
import unittest
import urllib.parse

from harness import E2ETestCase, TERMINAL, find_step, noop, parse_time

HOUR_MS = 3600 * 1000


def together(*fns):
    """Runs `fns` at once, each on its own thread, and waits for all."""
    threads = [threading.Thread(target=fn) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def approval(step_id="gate", **with_fields):
    w = {"message": "Charge ${{ input.name }}?"}
    w.update(with_fields)
    return {"id": step_id, "type": "approval", "with": w}


class ApprovalsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server(fake_clock=True)
        s = cls.server
        cls.operator = s.create_token("operator", "olivia")["token"]
        cls.operator2 = s.create_token("operator", "oscar")["token"]
        cls.viewer = s.create_token("viewer", "vera")["token"]
        cls.admin2 = s.create_token("admin", "ada")["token"]
        cls.counter = 0

    # --- helpers

    def gated(self, **with_fields):
        """A workflow gate -> charge, a run of it waiting on the approval, and the
        approval."""
        s = self.server
        ApprovalsTest.counter += 1
        wf = f"gated-{ApprovalsTest.counter}"
        s.put_workflow({"id": wf, "steps": [approval(**with_fields), noop("charge", "charged")]})
        run = s.start_run(wf, {"name": "Ada"})
        run = s.wait_status(run["id"], "waiting")
        apr = self.assertStatus(s.api("GET", f"/api/v1/approvals/{run['wait']['approval_id']}"), 200)
        return run, apr

    def decide(self, apr_id, decision, token=None, comment=None):
        body = {"decision": decision}
        if comment is not None:
            body["comment"] = comment
        kwargs = {} if token is None else {"token": token}
        return self.server.api("POST", f"/api/v1/approvals/{apr_id}/decision", body, **kwargs)

    def link(self, apr_id, recipient="pat@example.test"):
        resp = self.server.api("POST", f"/api/v1/approvals/{apr_id}/links", {"recipient": recipient},
                               token=self.operator)
        body = self.assertStatus(resp, 201)
        self.assertTrue(body["url"].startswith("/approve/"), body)
        return body

    # --- the wait and the approval object

    def test_run_waits_with_the_approval_and_approve_completes_it(self):
        s = self.server
        run, apr = self.gated(reversibility="irreversible")
        wait = run["wait"]
        self.assertEqual(wait["kind"], "approval")
        self.assertEqual(wait["step_id"], "gate")
        self.assertEqual(wait["approval_id"], apr["id"])
        self.assertTrue(apr["id"].startswith("apr_"))
        self.assertEqual(parse_time(wait["until"]), parse_time(apr["expires_at"]))
        self.assertEqual(parse_time(apr["expires_at"]) - parse_time(apr["created_at"]),
                         parse_time("2026-01-02T00:00:00.000Z") - parse_time("2026-01-01T00:00:00.000Z"))
        self.assertEqual(apr["message"], "Charge Ada?")
        self.assertEqual(apr["status"], "pending")
        self.assertEqual(apr["reversibility"], "irreversible")
        self.assertEqual(apr["required"], 1)
        self.assertEqual(apr["approvers"], {"role": "operator"})
        self.assertEqual(apr["on_timeout"], "deny")
        self.assertFalse(apr["escalated"])
        self.assertEqual(apr["decisions"], [])
        self.assertIsNone(apr["resolution"])
        self.assertEqual(apr["run_id"], run["id"])
        self.assertEqual(apr["step_id"], "gate")
        self.assertEqual(apr["workflow_id"], run["workflow_id"])
        self.assertEqual(run["allowed_actions"], ["cancel"])
        self.assertEqual(find_step(run, "charge")["status"], "pending")

        after = self.assertStatus(self.decide(apr["id"], "approve", self.operator, "ok"), 200)
        self.assertEqual(after["status"], "approved")
        self.assertEqual(len(after["decisions"]), 1)
        d = after["decisions"][0]
        self.assertEqual((d["by"], d["decision"], d["comment"], d["via"]),
                         ("olivia", "approve", "ok", "api"))
        parse_time(d["at"])
        self.assertEqual(after["resolution"]["status"], "approved")
        audit = s.api("GET", f"/api/v1/audit?target={apr['id']}").json["items"]
        self.assertEqual([(a["action"], a["actor"], a["reason"]) for a in audit],
                         [("approval.approve", "token:olivia", "ok")])
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(find_step(done, "gate")["output"],
                         {"decision": "approved", "decided_by": ["olivia"], "comment": "ok"})
        self.assertEqual(done["output"], "charged")

    def test_deny_fails_the_run_and_the_gated_step_never_runs(self):
        s = self.server
        run, apr = self.gated()
        after = self.assertStatus(self.decide(apr["id"], "deny", self.operator, "too much"), 200)
        self.assertEqual(after["status"], "denied")
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["error"]["code"], "approval_denied")
        self.assertEqual(find_step(done, "gate")["status"], "failed")
        self.assertEqual(find_step(done, "gate")["error"]["code"], "approval_denied")
        self.assertIn(find_step(done, "charge")["status"], ("pending", "skipped"))

    def test_on_deny_continue_completes_the_step_with_the_denial(self):
        s = self.server
        run, apr = self.gated(on_deny="continue")
        self.assertStatus(self.decide(apr["id"], "deny", self.operator2), 200)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(find_step(done, "gate")["output"],
                         {"decision": "denied", "decided_by": ["oscar"], "comment": None})

    def test_n_of_m_needs_distinct_approvers(self):
        s = self.server
        run, apr = self.gated(required=2)
        first = self.assertStatus(self.decide(apr["id"], "approve", self.operator), 200)
        self.assertEqual(first["status"], "pending")
        self.assertEqual(len(first["decisions"]), 1)
        self.assertError(self.decide(apr["id"], "approve", self.operator), 409, "invalid_transition")
        self.assertEqual(s.get_run(run["id"])["status"], "waiting")
        second = self.assertStatus(self.decide(apr["id"], "approve", self.admin2), 200)
        self.assertEqual(second["status"], "approved")
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed")
        self.assertEqual(find_step(done, "gate")["output"]["decided_by"], ["olivia", "ada"])
        self.assertError(self.decide(apr["id"], "deny", self.operator2), 409, "invalid_transition")

    # --- who may decide

    def test_viewers_may_not_decide_unless_named(self):
        s = self.server
        _, apr = self.gated()
        self.assertError(self.decide(apr["id"], "approve", self.viewer), 403, "forbidden")
        self.assertEqual(s.api("GET", f"/api/v1/approvals/{apr['id']}", token=self.viewer).status, 200)
        run, named = self.gated(approvers={"tokens": ["vera"]})
        self.assertEqual(named["approvers"], {"tokens": ["vera"]})
        self.assertError(self.decide(named["id"], "approve", self.operator), 403, "forbidden")
        self.assertStatus(self.decide(named["id"], "approve", self.viewer), 200)
        self.assertEqual(s.wait_status(run["id"], *TERMINAL)["status"], "completed")

    def test_admin_approvers(self):
        _, apr = self.gated(approvers="admin")
        self.assertEqual(apr["approvers"], {"role": "admin"})
        self.assertError(self.decide(apr["id"], "approve", self.operator), 403, "forbidden")
        self.assertStatus(self.decide(apr["id"], "approve", self.admin2), 200)

    # --- timeouts

    def test_expiry_denies_by_default(self):
        s = self.server
        run, apr = self.gated(expires_in="1h")
        s.advance_clock(HOUR_MS + 1000)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["error"]["code"], "approval_expired")
        after = self.assertStatus(s.api("GET", f"/api/v1/approvals/{apr['id']}"), 200)
        self.assertEqual(after["status"], "expired")
        self.assertEqual(after["resolution"]["status"], "expired")
        self.assertError(self.decide(apr["id"], "approve", self.operator), 409, "invalid_transition")

    def test_expiry_proceeds(self):
        s = self.server
        run, _ = self.gated(expires_in="30m", on_timeout="proceed")
        s.advance_clock(HOUR_MS)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(find_step(done, "gate")["output"], {"decision": "proceeded"})

    def test_expiry_escalates_once_then_denies(self):
        s = self.server
        run, apr = self.gated(expires_in="1h", on_timeout="escalate", escalate_to={"tokens": ["ada"]})
        s.advance_clock(HOUR_MS + 1000)
        escalated = s.wait_for(run["id"], lambda r: r["wait"] and r["wait"]["until"] != run["wait"]["until"],
                               desc="escalation")
        after = self.assertStatus(s.api("GET", f"/api/v1/approvals/{apr['id']}"), 200)
        self.assertEqual(after["status"], "pending")
        self.assertTrue(after["escalated"])
        self.assertEqual(after["approvers"], {"tokens": ["ada"]})
        self.assertGreater(parse_time(after["expires_at"]), parse_time(apr["expires_at"]))
        self.assertEqual(parse_time(escalated["wait"]["until"]), parse_time(after["expires_at"]))
        self.assertError(self.decide(apr["id"], "approve", self.operator), 403, "forbidden")
        s.advance_clock(HOUR_MS + 1000)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "failed")
        self.assertEqual(done["error"]["code"], "approval_expired")
        self.assertEqual(s.api("GET", f"/api/v1/approvals/{apr['id']}").json["status"], "expired")
        audit = s.api("GET", f"/api/v1/audit?target={apr['id']}").json["items"]
        self.assertEqual(sorted(a["action"] for a in audit), ["approval.escalate", "approval.expire"])
        self.assertTrue(all(a["actor"] == "system" for a in audit), audit)

    def test_escalated_approval_decided_by_escalate_to(self):
        s = self.server
        run, apr = self.gated(expires_in="1h", on_timeout="escalate", escalate_to="admin")
        s.advance_clock(HOUR_MS + 1000)
        s.wait_for(run["id"], lambda r: r["wait"] and r["wait"]["until"] != run["wait"]["until"],
                   desc="escalation")
        self.assertStatus(self.decide(apr["id"], "approve", self.admin2), 200)
        self.assertEqual(s.wait_status(run["id"], *TERMINAL)["status"], "completed")

    # --- cancel

    def test_cancel_closes_the_approval(self):
        s = self.server
        run, apr = self.gated()
        link = self.link(apr["id"])
        self.assertStatus(s.control(run["id"], "cancel"), 200)
        after = self.assertStatus(s.api("GET", f"/api/v1/approvals/{apr['id']}"), 200)
        self.assertEqual(after["status"], "expired")
        self.assertEqual(after["resolution"]["reason"], "run cancelled")
        self.assertError(self.decide(apr["id"], "approve", self.operator), 409, "invalid_transition")
        self.assertEqual(s.api("GET", link["url"], token=None).status, 410)
        self.assertEqual(s.api("POST", link["url"], {"decision": "approve"}, token=None).status, 410)

    # --- magic links

    def test_magic_link_page_and_one_use_decision(self):
        s = self.server
        run, apr = self.gated(reversibility="irreversible")
        link = self.link(apr["id"])
        self.assertEqual(parse_time(link["expires_at"]), parse_time(apr["expires_at"]))
        token = link["url"].rsplit("/", 1)[1]
        self.assertGreaterEqual(len(token), 32)
        page = s.api("GET", link["url"], token=None)
        self.assertEqual(page.status, 200)
        self.assertTrue(page.headers.get("Content-Type").startswith("text/html"))
        self.assertIn("Charge Ada?", page.text)
        self.assertIn("Irreversible", page.text)
        self.assertIn(run["id"], page.text)
        self.assertIn("<form", page.text)
        self.assertNotIn("<script", page.text)

        decided = self.assertStatus(
            s.api("POST", link["url"], {"decision": "approve", "comment": "via mail"}, token=None), 200)
        self.assertEqual(decided["status"], "approved")
        self.assertEqual(decided["decisions"][0]["via"], "link")
        self.assertEqual(decided["decisions"][0]["by"], "pat@example.test")
        self.assertEqual(s.wait_status(run["id"], *TERMINAL)["status"], "completed")
        self.assertEqual(s.api("GET", link["url"], token=None).status, 410)
        self.assertError(s.api("POST", link["url"], {"decision": "approve"}, token=None), 410)

    def test_magic_link_form_post_redirects(self):
        s = self.server
        run, apr = self.gated(required=2)
        link = self.link(apr["id"])
        body = urllib.parse.urlencode({"decision": "approve", "comment": "yes & more"})
        resp = s.api("POST", link["url"], raw_body=body, token=None,
                     content_type="application/x-www-form-urlencoded")
        self.assertEqual(resp.status, 303, resp)
        self.assertTrue(resp.headers.get("Location").startswith("/approve/done"))
        result = s.api("GET", resp.headers.get("Location"), token=None)
        self.assertEqual(result.status, 200)
        self.assertIn("approved", result.text)
        after = s.api("GET", f"/api/v1/approvals/{apr['id']}").json
        self.assertEqual(after["decisions"][0]["comment"], "yes & more")
        self.assertEqual(after["status"], "pending")
        # The same link again: used. Another recipient's link counts as another approver.
        self.assertEqual(s.api("POST", link["url"], raw_body=body, token=None,
                               content_type="application/x-www-form-urlencoded").status, 410)
        other = self.link(apr["id"], "sam@example.test")
        self.assertStatus(s.api("POST", other["url"], {"decision": "approve"}, token=None), 200)
        self.assertEqual(s.wait_status(run["id"], *TERMINAL)["status"], "completed")

    def test_unknown_and_expired_links(self):
        s = self.server
        self.assertEqual(s.api("GET", "/approve/nosuchtoken", token=None).status, 404)
        self.assertError(s.api("POST", "/approve/nosuchtoken", {"decision": "approve"}, token=None),
                         404, "not_found")
        run, apr = self.gated(expires_in="1h", on_timeout="proceed")
        link = self.link(apr["id"])
        s.advance_clock(HOUR_MS + 1000)
        s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(s.api("GET", link["url"], token=None).status, 410)

    def test_links_need_an_operator_and_a_pending_approval(self):
        s = self.server
        _, apr = self.gated()
        self.assertError(s.api("POST", f"/api/v1/approvals/{apr['id']}/links", {"recipient": "x"},
                               token=self.viewer), 403, "forbidden")
        self.assertError(s.api("POST", f"/api/v1/approvals/{apr['id']}/links", {}), 400,
                         "invalid_request")
        self.assertStatus(self.decide(apr["id"], "deny", self.operator), 200)
        self.assertError(s.api("POST", f"/api/v1/approvals/{apr['id']}/links", {"recipient": "x"}),
                         409, "invalid_transition")

    # --- races

    def test_concurrent_decisions_exactly_one_wins(self):
        s = self.server
        for _ in range(3):
            run, apr = self.gated()
            answers = []
            tokens = [self.operator, self.operator2, self.admin2, s.admin_token]

            def go(tok, decision):
                answers.append(self.decide(apr["id"], decision, tok).status)

            together(*[lambda t=t, i=i: go(t, "approve" if i % 2 else "deny")
                       for i, t in enumerate(tokens)])
            self.assertEqual(sorted(answers), [200, 409, 409, 409], answers)
            after = s.api("GET", f"/api/v1/approvals/{apr['id']}").json
            self.assertEqual(len(after["decisions"]), 1)
            done = s.wait_status(run["id"], *TERMINAL)
            self.assertEqual(done["status"], "completed" if after["status"] == "approved" else "failed")

    def test_decision_racing_a_cancel(self):
        s = self.server
        for _ in range(3):
            run, apr = self.gated()
            results = {}

            def decide():
                results["decision"] = self.decide(apr["id"], "approve", self.operator).status

            def cancel():
                results["cancel"] = s.control(run["id"], "cancel").status

            together(decide, cancel)
            done = s.wait_status(run["id"], *TERMINAL)
            after = s.api("GET", f"/api/v1/approvals/{apr['id']}").json
            if results["decision"] == 200:
                # The decision came first: the run went on, and the cancel either caught
                # it before it completed or found it completed (409).
                self.assertEqual(after["status"], "approved")
                expected = {200: "cancelled", 409: "completed"}
                self.assertEqual(done["status"], expected[results["cancel"]], results)
            else:
                self.assertEqual(results, {"decision": 409, "cancel": 200})
                self.assertEqual(done["status"], "cancelled")
                self.assertEqual(after["status"], "expired")
                self.assertEqual(after["resolution"]["reason"], "run cancelled")

    def test_decision_racing_the_expiry(self):
        s = self.server
        outcomes = set()
        for _ in range(4):
            run, apr = self.gated(expires_in="1h")
            results = {}

            def decide():
                results["decision"] = self.decide(apr["id"], "approve", self.operator).status

            def expire():
                s.advance_clock(HOUR_MS + 1)

            together(expire, decide)
            done = s.wait_status(run["id"], *TERMINAL)
            after = s.api("GET", f"/api/v1/approvals/{apr['id']}").json
            if results["decision"] == 200:
                self.assertEqual((after["status"], done["status"]), ("approved", "completed"))
            else:
                self.assertEqual(results["decision"], 409)
                self.assertEqual((after["status"], done["status"]), ("expired", "failed"))
                self.assertEqual(after["decisions"], [])
            outcomes.add(after["status"])
        self.assertTrue(outcomes <= {"approved", "expired"}, outcomes)

    # --- the inbox

    def test_inbox_lists_pending_first_and_filters(self):
        s = self.server
        run1, a1 = self.gated()
        self.assertStatus(self.decide(a1["id"], "approve", self.operator), 200)
        run2, a2 = self.gated()
        items = s.list_all("/api/v1/approvals")
        ids = [i["id"] for i in items]
        self.assertIn(a1["id"], ids)
        self.assertIn(a2["id"], ids)
        statuses = [i["status"] for i in items]
        first_decided = next(i for i, st in enumerate(statuses) if st != "pending")
        self.assertTrue(all(st != "pending" for st in statuses[first_decided:]), statuses)
        pending = s.api("GET", "/api/v1/approvals?status=pending&limit=500").json["items"]
        self.assertTrue(all(i["status"] == "pending" for i in pending))
        self.assertIn(a2["id"], [i["id"] for i in pending])
        self.assertNotIn(a1["id"], [i["id"] for i in pending])
        by_run = s.api("GET", f"/api/v1/approvals?run_id={run1['id']}").json["items"]
        self.assertEqual([i["id"] for i in by_run], [a1["id"]])
        page = s.api("GET", "/api/v1/approvals?limit=1").json
        self.assertEqual(len(page["items"]), 1)
        self.assertIsNotNone(page["next_cursor"])
        nxt = s.api("GET", f"/api/v1/approvals?limit=1&cursor={page['next_cursor']}").json
        self.assertNotEqual(nxt["items"][0]["id"], page["items"][0]["id"])

    def test_other_workspaces_see_nothing(self):
        s = self.server
        _, apr = self.gated()
        other = s.create_workspace("apr-other")
        self.assertError(s.api("GET", f"/api/v1/approvals/{apr['id']}", token=other), 404, "not_found")
        self.assertError(self.decide(apr["id"], "approve", other), 404, "not_found")
        self.assertNotIn(apr["id"], [i["id"] for i in s.api("GET", "/api/v1/approvals", token=other).json["items"]])

    # --- bad input

    def test_bad_decisions_change_nothing(self):
        s = self.server
        _, apr = self.gated()
        url = f"/api/v1/approvals/{apr['id']}/decision"
        self.assertError(s.api("POST", url, {"decision": "maybe"}), 400, "invalid_request")
        self.assertError(s.api("POST", url, {"decision": "approve", "extra": 1}), 400, "invalid_request")
        self.assertError(s.api("POST", url, {"decision": "approve", "comment": 5}), 400, "invalid_request")
        self.assertError(s.api("POST", url, raw_body="{not json"), 400, "invalid_request")
        self.assertError(s.api("POST", url), 400, "invalid_request")
        self.assertError(s.api("POST", "/api/v1/approvals/apr_nope/decision", {"decision": "approve"}),
                         404, "not_found")
        self.assertError(s.api("GET", "/api/v1/approvals?status=bogus"), 400, "invalid_request")
        self.assertError(s.api("GET", "/api/v1/approvals?cursor=zz"), 400, "invalid_request")
        self.assertEqual(s.api("GET", f"/api/v1/approvals/{apr['id']}").json, apr)

    def test_definitions_are_checked(self):
        s = self.server
        bad = [
            approval(on_timeout="later"),
            approval(on_timeout="escalate"),
            approval(escalate_to="admin"),
            approval(required=0),
            approval(expires_in="soon"),
            approval(reversibility="maybe"),
            approval(approvers={"role": "viewer"}),
            approval(approvers={"tokens": []}),
            approval(on_deny="retry"),
            approval(colour="red"),
            {"id": "gate", "type": "approval", "with": {}},
        ]
        for step in bad:
            resp = s.api("PUT", "/api/v1/workflows/bad-approval", {"id": "bad-approval", "steps": [step]})
            err = self.assertError(resp, 400, "invalid_definition")
            self.assertEqual(err.get("step_id"), "gate", resp)


class ApprovalRestartTest(E2ETestCase):
    def test_pending_approval_and_half_used_links_survive_kill(self):
        s = self.start_test_server(fake_clock=True)
        s.put_workflow({"id": "gated", "steps": [approval(required=2), noop("charge", "charged")]})
        run = s.wait_status(s.start_run("gated", {"name": "Ada"})["id"], "waiting")
        apr_id = run["wait"]["approval_id"]
        used = s.api("POST", f"/api/v1/approvals/{apr_id}/links", {"recipient": "a@x.test"}).json
        fresh = s.api("POST", f"/api/v1/approvals/{apr_id}/links", {"recipient": "b@x.test"}).json
        self.assertStatus(s.api("POST", used["url"], {"decision": "approve"}, token=None), 200)
        s.restart()
        after = s.get_run(run["id"])
        self.assertEqual(after["status"], "waiting")
        apr = s.api("GET", f"/api/v1/approvals/{apr_id}").json
        self.assertEqual((apr["status"], len(apr["decisions"])), ("pending", 1))
        self.assertEqual(s.api("GET", used["url"], token=None).status, 410)
        self.assertEqual(s.api("GET", fresh["url"], token=None).status, 200)
        self.assertStatus(s.api("POST", fresh["url"], {"decision": "approve"}, token=None), 200)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed")
        self.assertEqual(find_step(done, "gate")["output"]["decided_by"], ["a@x.test", "b@x.test"])

    def test_expiry_after_restart(self):
        s = self.start_test_server(fake_clock=True)
        s.put_workflow({"id": "gated", "steps": [approval(expires_in="2h"), noop("charge", 1)]})
        run = s.wait_status(s.start_run("gated", {"name": "Ada"})["id"], "waiting")
        s.restart()
        s.advance_clock(3 * HOUR_MS)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["error"]["code"], "approval_expired")


if __name__ == "__main__":
    unittest.main()
