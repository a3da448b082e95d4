"""Run search (GET /api/v1/runs by version, time, error code, actor, input and output
fields, run ids, combined and paged, and its 400s), starting a run on a chosen workflow version,
and retention of finished runs (GET/PUT /api/v1/retention, deletion by age on the fake
clock and by count, unfinished runs kept, deleted runs 404)."""

import unittest
from datetime import timedelta
from urllib.parse import urlencode

from harness import E2ETestCase, TERMINAL, format_time, noop, parse_time, wait_until


def ids(items):
    return [r["id"] for r in items]


class SearchTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = s = cls.start_server()
        s.put_workflow({"id": "srch-a", "steps": [noop("a", {"ok": True, "v": 1})]})
        s.put_workflow({"id": "srch-a", "steps": [noop("a", {"ok": True, "v": 2,
                                                            "n": "${{ input.n }}"})]})
        s.put_workflow({"id": "srch-fail", "steps": [
            {"id": "f", "type": "fail", "with": {"message": "no", "code": "boom"}}]})
        cls.alice = s.create_token("operator", "alice")["token"]
        cls.bob = s.create_token("operator", "bob")["token"]

        def start(wf, body, token):
            resp = s.request("POST", f"/api/v1/workflows/{wf}/runs", body, token=token)
            assert resp.status == 201, resp
            return s.wait_status(resp.json["id"], *TERMINAL)

        cls.a1 = start("srch-a", {"input": {"customer": {"id": 42}, "tier": "gold", "n": 7}},
                       cls.alice)
        cls.a2 = start("srch-a", {"input": {"customer": {"id": "42"}, "flag": True, "n": 8}},
                       cls.bob)
        cls.f1 = start("srch-fail", {"input": {"customer": {"id": 43}}}, cls.alice)
        cls.old = start("srch-a", {"input": {"n": 9}, "workflow_version": 1}, cls.bob)
        cls.mine = [cls.a1, cls.a2, cls.f1, cls.old]

    def search(self, **params):
        """The ids of our runs that GET /api/v1/runs answers for `params`, all pages."""
        s = self.server
        out, cursor = [], None
        for _ in range(100):
            query = dict(params)
            if cursor:
                query["cursor"] = cursor
            resp = s.api("GET", "/api/v1/runs?" + urlencode(query))
            page = self.assertStatus(resp, 200)
            out += ids(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        mine = set(ids(self.mine))
        return [i for i in out if i in mine]

    def expect(self, runs):
        return sorted(ids(runs), reverse=True)  # newest first

    def test_runs_ended_as_planned(self):
        self.assertEqual([r["status"] for r in self.mine],
                         ["completed", "completed", "failed", "completed"])
        self.assertEqual(self.old["workflow_version"], 1)
        self.assertEqual(self.old["output"], {"ok": True, "v": 1})
        self.assertEqual(self.a1["workflow_version"], 2)

    def test_workflow_version(self):
        # srch-fail has one version: 1.
        self.assertEqual(self.search(workflow_version=1), self.expect([self.f1, self.old]))
        self.assertEqual(self.search(workflow_version=1, workflow_id="srch-a"), [self.old["id"]])
        self.assertEqual(self.search(workflow_version=2, workflow_id="srch-a"),
                         self.expect([self.a1, self.a2]))
        self.assertEqual(self.search(workflow_version=3), [])

    def test_created_and_finished_ranges(self):
        t = self.a2["created_at"]
        after = [r for r in self.mine if parse_time(r["created_at"]) >= parse_time(t)]
        before = [r for r in self.mine if parse_time(r["created_at"]) < parse_time(t)]
        self.assertEqual(self.search(created_after=t), self.expect(after))
        self.assertEqual(self.search(created_before=t), self.expect(before))
        self.assertIn(self.a1["id"], ids(before))
        f = self.f1["finished_at"]
        fin_after = [r for r in self.mine if parse_time(r["finished_at"]) >= parse_time(f)]
        self.assertEqual(self.search(finished_after=f), self.expect(fin_after))
        self.assertIn(self.f1["id"], ids(fin_after))
        self.assertEqual(self.search(finished_before=self.a1["finished_at"]), [])
        self.assertEqual(self.search(created_after=t, created_before=t), [])
        # Any RFC 3339 offset.
        later = format_time(parse_time(t) + timedelta(days=1))
        self.assertEqual(self.search(created_after=later), [])

    def test_error_code_and_actor(self):
        self.assertEqual(self.search(error_code="boom"), [self.f1["id"]])
        self.assertEqual(self.search(error_code="nope"), [])
        self.assertEqual(self.search(actor="token:alice"), self.expect([self.a1, self.f1]))
        self.assertEqual(self.search(actor="token:bob"), self.expect([self.a2, self.old]))
        self.assertEqual(self.search(actor="alice"), [])

    def test_input_and_output_fields_match_typed_scalars(self):
        self.assertEqual(self.search(**{"input.customer.id": "42"}), [self.a1["id"]])
        self.assertEqual(self.search(**{"input.customer.id": '"42"'}), [self.a2["id"]])
        self.assertEqual(self.search(**{"input.tier": "gold"}), [self.a1["id"]])
        self.assertEqual(self.search(**{"input.tier": '"gold"'}), [self.a1["id"]])
        self.assertEqual(self.search(**{"input.flag": "true"}), [self.a2["id"]])
        self.assertEqual(self.search(**{"input.flag": "1"}), [])
        self.assertEqual(self.search(**{"input.customer.id": "44"}), [])
        self.assertEqual(self.search(**{"output.n": "8"}), [self.a2["id"]])
        self.assertEqual(self.search(**{"output.v": "1"}), [self.old["id"]])
        self.assertEqual(self.search(**{"output.ok": "true", "output.v": "2"}),
                         self.expect([self.a1, self.a2]))

    def test_filters_combine_and_page(self):
        self.assertEqual(self.search(actor="token:alice", status="completed"), [self.a1["id"]])
        self.assertEqual(self.search(actor="token:alice", workflow_id="srch-fail",
                                     error_code="boom"), [self.f1["id"]])
        self.assertEqual(self.search(actor="token:bob", workflow_version=2,
                                     **{"input.flag": "true"}), [self.a2["id"]])
        self.assertEqual(self.search(actor="token:bob", **{"input.customer.id": "42"}), [])
        # One run per page: every page holds one match, in order, none twice.
        self.assertEqual(self.search(actor="token:bob", limit=1),
                         self.expect([self.a2, self.old]))
        s = self.server
        page = self.assertStatus(s.api("GET", "/api/v1/runs?" + urlencode(
            {"actor": "token:bob", "limit": 1})), 200)
        self.assertEqual(ids(page["items"]), [self.old["id"]])
        self.assertEqual(page["next_cursor"], self.old["id"])
        page = self.assertStatus(s.api("GET", "/api/v1/runs?" + urlencode(
            {"actor": "token:bob", "limit": 1, "cursor": page["next_cursor"]})), 200)
        self.assertEqual(ids(page["items"]), [self.a2["id"]])

    def test_run_ids_select_exactly_those_runs(self):
        a1, a2, f1, old = (r["id"] for r in self.mine)
        self.assertEqual(self.search(run_ids=f"{a1},{f1}"), self.expect([self.a1, self.f1]))
        self.assertEqual(self.search(run_ids=old), [old])
        # Combined with the other filters, and paged.
        self.assertEqual(self.search(run_ids=f"{a1},{a2},{f1}", status="completed"),
                         self.expect([self.a1, self.a2]))
        self.assertEqual(self.search(run_ids=f"{a1},{f1}", actor="token:bob"), [])
        self.assertEqual(self.search(run_ids=f"{a1},{a2},{f1},{old}", limit=1),
                         self.expect(self.mine))
        # Only the workspace's runs: another workspace's token finds none of them, and an
        # id no run has matches nothing.
        s = self.server
        other = s.create_workspace("srch-other")
        page = self.assertStatus(s.api("GET", f"/api/v1/runs?run_ids={a1},{a2}", token=other),
                                 200)
        self.assertEqual(page["items"], [])
        self.assertEqual(self.search(run_ids="run_" + "0" * 26), [])
        # 500 ids are taken; the one of ours among them is found.
        many = ",".join(["run_" + f"{i:026d}" for i in range(499)] + [a2])
        self.assertEqual(self.search(run_ids=many), [a2])

        bad = [
            "",
            "nope",
            f"{a1},",
            f"{a1}, {a2}",
            f"{a1};{a2}",
            a1.lower(),
            "wf_" + a1[4:],
            ",".join(["run_" + f"{i:026d}" for i in range(501)]),
        ]
        for value in bad:
            with self.subTest(run_ids=value[:80]):
                resp = s.api("GET", "/api/v1/runs?" + urlencode({"run_ids": value}))
                err = self.assertError(resp, 400, "invalid_request")
                self.assertEqual(err.get("field"), "run_ids", resp)
                self.assertIn("run_ids", err["message"])

    def test_bad_parameters_are_400_naming_the_parameter(self):
        s = self.server
        cases = [
            ({"nope": "1"}, "nope"),
            ({"status": "sleeping"}, "status"),
            ({"wait_kind": "nap"}, "wait_kind"),
            ({"pause_reason": "lunch"}, "pause_reason"),
            ({"workflow_version": "two"}, "workflow_version"),
            ({"workflow_version": "0"}, "workflow_version"),
            ({"created_after": "yesterday"}, "created_after"),
            ({"created_before": "2026-13-01T00:00:00Z"}, "created_before"),
            ({"finished_after": "2026-11-22"}, "finished_after"),
            ({"finished_before": "12:00"}, "finished_before"),
            ({"input.": "1"}, "input."),
            ({"input.a..b": "1"}, "input.a..b"),
            ({"output.a": '{"b": 1}'}, "output.a"),
            ({"output.a": "[1]"}, "output.a"),
        ]
        for params, name in cases:
            with self.subTest(params=params):
                resp = s.api("GET", "/api/v1/runs?" + urlencode(params))
                err = self.assertError(resp, 400, "invalid_request")
                self.assertEqual(err.get("field"), name, resp)
                self.assertIn(name.rstrip("."), err["message"])


class StartVersionTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = s = cls.start_server()
        s.put_workflow({"id": "ver-wf", "steps": [noop("a", "one")]})
        s.put_workflow({"id": "ver-wf", "steps": [noop("a", "two")]})

    def test_start_an_earlier_version(self):
        s = self.server
        run = self.assertStatus(s.api("POST", "/api/v1/workflows/ver-wf/runs",
                                      {"input": {}, "workflow_version": 1}), 201)
        self.assertEqual(run["workflow_version"], 1)
        self.assertEqual(s.wait_status(run["id"], *TERMINAL)["output"], "one")
        run = self.assertStatus(s.api("POST", "/api/v1/workflows/ver-wf/runs",
                                      {"workflow_version": 2}), 201)
        self.assertEqual(s.wait_status(run["id"], *TERMINAL)["output"], "two")
        run = self.assertStatus(s.api("POST", "/api/v1/workflows/ver-wf/runs", {}), 201)
        self.assertEqual(run["workflow_version"], 2)

    def test_unknown_version_is_404_and_bad_ones_400(self):
        s = self.server
        self.assertError(s.api("POST", "/api/v1/workflows/ver-wf/runs",
                               {"workflow_version": 3}), 404, "not_found")
        self.assertError(s.api("POST", "/api/v1/workflows/ver-wf/runs",
                               {"workflow_version": 99999}), 404, "not_found")
        for bad in (0, -1, "1", 1.5, True):
            with self.subTest(bad=bad):
                err = self.assertError(s.api("POST", "/api/v1/workflows/ver-wf/runs",
                                             {"workflow_version": bad}), 400, "invalid_request")
                self.assertEqual(err.get("field"), "workflow_version")
        self.assertEqual(s.list_all("/api/v1/runs?workflow_id=ver-wf&workflow_version=3"), [])


class RetentionSettingsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server()

    def test_get_put_and_roles(self):
        s = self.server
        self.assertEqual(self.assertStatus(s.api("GET", "/api/v1/retention"), 200),
                         {"finished_runs_max_age": None, "finished_runs_max_count": None})
        body = {"finished_runs_max_age": "30d", "finished_runs_max_count": 1000}
        self.assertEqual(self.assertStatus(s.api("PUT", "/api/v1/retention", body), 200), body)
        self.assertEqual(self.assertStatus(s.api("GET", "/api/v1/retention"), 200), body)
        # A PUT replaces both: a limit left out is no limit.
        self.assertEqual(self.assertStatus(s.api("PUT", "/api/v1/retention",
                                                 {"finished_runs_max_age": "36h"}), 200),
                         {"finished_runs_max_age": "36h", "finished_runs_max_count": None})
        self.assertEqual(self.assertStatus(s.api("PUT", "/api/v1/retention", {
            "finished_runs_max_age": None, "finished_runs_max_count": None}), 200),
            {"finished_runs_max_age": None, "finished_runs_max_count": None})
        operator = s.create_token("operator", "ops")["token"]
        self.assertError(s.api("GET", "/api/v1/retention", token=operator), 403)
        self.assertError(s.api("PUT", "/api/v1/retention", {}, token=operator), 403)

    def test_bad_values_are_400_naming_the_field(self):
        s = self.server
        before = self.assertStatus(s.api("GET", "/api/v1/retention"), 200)
        for body, field in [
            ({"finished_runs_max_age": "30"}, "finished_runs_max_age"),
            ({"finished_runs_max_age": "30x"}, "finished_runs_max_age"),
            ({"finished_runs_max_age": "0d"}, "finished_runs_max_age"),
            ({"finished_runs_max_age": "-1d"}, "finished_runs_max_age"),
            ({"finished_runs_max_age": 30}, "finished_runs_max_age"),
            ({"finished_runs_max_age": "99999999d"}, "finished_runs_max_age"),
            ({"finished_runs_max_count": -1}, "finished_runs_max_count"),
            ({"finished_runs_max_count": "5"}, "finished_runs_max_count"),
            ({"finished_runs_max_count": 2.5}, "finished_runs_max_count"),
        ]:
            with self.subTest(body=body):
                err = self.assertError(s.api("PUT", "/api/v1/retention", body), 400,
                                       "invalid_request")
                self.assertEqual(err.get("field"), field, err)
                self.assertIn(field, err["message"])
        self.assertError(s.api("PUT", "/api/v1/retention", {"max_age": "1d"}), 400,
                         "invalid_request")
        self.assertEqual(self.assertStatus(s.api("GET", "/api/v1/retention"), 200), before)


class RetentionByAgeTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = s = cls.start_server(fake_clock=True)
        s.put_workflow({"id": "ret-quick", "steps": [noop("a", 1), noop("b", 2)]})
        s.put_workflow({"id": "ret-gate", "steps": [
            {"id": "gate", "type": "wait_for_event", "with": {"event_type": "go"}}]})

    def gone(self, run_id):
        return self.server.api("GET", f"/api/v1/runs/{run_id}").status == 404

    def test_finished_runs_past_the_age_are_deleted_unfinished_kept(self):
        s = self.server
        done = [s.run_and_wait("ret-quick") for _ in range(3)]
        self.assertTrue(all(r["status"] == "completed" and len(r["steps"]) == 2 for r in done))
        gate = s.start_run("ret-gate")
        s.wait_status(gate["id"], "waiting")
        paused_gate = s.start_run("ret-gate")
        s.wait_status(paused_gate["id"], "waiting")
        self.assertStatus(s.api("PUT", "/api/v1/retention", {"finished_runs_max_age": "1h"}), 200)
        # Younger than an hour: kept (the PUT and an advance both make the sweep look).
        s.advance_clock(30 * 60 * 1000)
        s.advance_clock_and_settle(1000)
        for r in done:
            self.assertEqual(s.get_run(r["id"])["status"], "completed")
        s.advance_clock(31 * 60 * 1000)
        wait_until(lambda: all(self.gone(r["id"]) for r in done), desc="old runs deleted")
        for r in done:
            self.assertError(s.api("GET", f"/api/v1/runs/{r['id']}"), 404, "not_found")
            self.assertError(s.api("GET", f"/api/v1/workflows/ret-quick/runs/{r['id']}"), 404,
                             "not_found")
            self.assertEqual(s.list_all(f"/api/v1/runs?q={r['id']}"), [])
        # Unfinished runs are never touched, however old.
        s.advance_clock(24 * 3600 * 1000)
        s.advance_clock_and_settle(1000)
        self.assertEqual(s.get_run(gate["id"])["status"], "waiting")
        self.assertEqual(s.get_run(paused_gate["id"])["status"], "waiting")
        # Once it ends, it goes too (an hour after its end).
        self.assertEqual(s.send_event(gate["id"], "go", {}).status, 202)
        ended = s.wait_status(gate["id"], *TERMINAL)
        self.assertEqual(ended["status"], "completed")
        s.advance_clock(3600 * 1000 + 1)
        wait_until(lambda: self.gone(gate["id"]), desc="gate run deleted")
        self.assertEqual(s.get_run(paused_gate["id"])["status"], "waiting")


class RetentionByCountTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = s = cls.start_server(fake_clock=True)
        s.put_workflow({"id": "cnt-quick", "steps": [noop("a", 1)]})
        s.put_workflow({"id": "cnt-gate", "steps": [
            {"id": "gate", "type": "wait_for_event", "with": {"event_type": "go"}}]})

    def test_only_the_newest_finished_runs_are_kept(self):
        s = self.server
        gate = s.start_run("cnt-gate")
        s.wait_status(gate["id"], "waiting")
        done = []
        for _ in range(5):
            done.append(s.run_and_wait("cnt-quick"))
            s.advance_clock(10)  # distinct end times
        cancelled = s.start_run("cnt-gate")
        self.assertStatus(s.control(cancelled["id"], "cancel"), 200)
        finished = done + [s.get_run(cancelled["id"])]
        newest = sorted(finished, key=lambda r: (parse_time(r["finished_at"]), r["id"]))[-2:]
        self.assertEqual(newest[-1]["id"], cancelled["id"])
        self.assertStatus(s.api("PUT", "/api/v1/retention", {"finished_runs_max_count": 2}), 200)
        keep = {r["id"] for r in newest}
        wait_until(lambda: {r["id"] for r in s.list_all("/api/v1/runs?status=completed,cancelled,"
                                                        "failed")} == keep,
                   desc="only the newest 2 finished runs left")
        for r in finished:
            if r["id"] not in keep:
                self.assertError(s.api("GET", f"/api/v1/runs/{r['id']}"), 404, "not_found")
        self.assertEqual(s.get_run(gate["id"])["status"], "waiting")
        # A new finished run pushes the oldest kept one out on the next sweep.
        s.advance_clock(10)
        extra = s.run_and_wait("cnt-quick")
        s.advance_clock(0)
        wait_until(lambda: {r["id"] for r in s.list_all("/api/v1/runs?status=completed,"
                                                        "cancelled")}
                   == {extra["id"], cancelled["id"]}, desc="the oldest kept run deleted")
        self.assertEqual(s.get_run(gate["id"])["status"], "waiting")


if __name__ == "__main__":
    unittest.main()
