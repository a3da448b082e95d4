"""Bad input: malformed JSON, wrong types, unknown fields, wrong content types, bodies
over 1 MiB, unknown ids, invalid slugs, bad query parameters. After each one nothing is
stored and the server is healthy; every error body has the contract's shape."""

import json
import unittest

from harness import E2ETestCase, TERMINAL, noop, on_postgres

MiB = 1024 * 1024
BOGUS_RUN = "run_00000000000000000000000000"


class BadInputTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = s = cls.start_server()
        s.put_workflow({"id": "bi-wf", "steps": [
            {"id": "e", "type": "wait_for_event", "with": {"event_type": "never-sent"}}]})
        s.put_workflow({"id": "bi-done", "steps": [noop("a", "${{ input.v }}")]})
        run = s.start_run("bi-wf")
        cls.run_id = run["id"]
        s.wait_status(cls.run_id, "waiting")
        cls.done_id = s.run_and_wait("bi-done", {"v": 1})["id"]

    def snapshot(self):
        s = self.server
        run = s.get_run(self.run_id)
        return {
            "workflows": sorted((w["id"], w["version"], w["status"])
                                for w in s.list_all("/api/v1/workflows")),
            "runs": sorted((r["id"], r["status"]) for r in s.list_all("/api/v1/runs")),
            "run": (run["status"], run["version"]),
            "tokens": sorted(t["id"] for t in s.list_all("/api/v1/tokens")),
        }

    def check_cases(self, cases):
        """cases: (name, method, path, kwargs, status, code or tuple of codes or None)."""
        s = self.server
        before = self.snapshot()
        for name, method, path, kwargs, status, code in cases:
            with self.subTest(case=name):
                resp = s.api(method, path, **kwargs)
                if isinstance(status, tuple):
                    self.assertIn(resp.status, status, f"{name}: {resp!r}")
                    self.assertErrorShape(resp)
                else:
                    self.assertError(resp, status)
                err = resp.json["error"]
                if isinstance(code, tuple):
                    self.assertIn(err["code"], code, f"{name}: {resp!r}")
                elif code is not None:
                    self.assertEqual(err["code"], code, f"{name}: {resp!r}")
                self.assertTrue(s.healthy(), f"server unhealthy after {name}")
                self.assertTrue(s.running(), f"server died after {name}")
        self.assertEqual(self.snapshot(), before, "bad input changed stored state")

    def raw(self, data, ctype="application/json"):
        return {"raw_body": data if isinstance(data, bytes) else data.encode(),
                "content_type": ctype}

    def test_malformed_json(self):
        r = self.run_id
        cases = [
            ("put workflow", "PUT", "/api/v1/workflows/bi-new", self.raw('{"id": "bi-new", "steps": [')),
            ("start run", "POST", "/api/v1/workflows/bi-done/runs", self.raw('{"input": ')),
            ("trigger", "POST", "/api/v1/workflows/bi-done/trigger", self.raw("{nope}")),
            ("pause trailing comma", "POST", f"/api/v1/runs/{r}/pause",
             self.raw('{"expected_status": "waiting",}')),
            ("cancel single quotes", "POST", f"/api/v1/runs/{r}/cancel", self.raw("{'reason': 'x'}")),
            ("event", "POST", f"/api/v1/runs/{r}/events",
             self.raw('{"event_type": "never-sent", "payload": }')),
            ("token", "POST", "/api/v1/tokens", self.raw("[")),
            ("session", "POST", "/api/v1/session", {**self.raw("{"), "token": None}),
            ("workflow status", "POST", "/api/v1/workflows/bi-wf/status", self.raw("nul")),
            ("invalid utf-8", "POST", "/api/v1/workflows/bi-done/runs",
             self.raw(b'{"input": {"s": "\xff\xfe"}}')),
            ("trailing garbage", "POST", "/api/v1/workflows/bi-done/runs",
             self.raw('{"input": {}} xyz')),
            ("two documents", "POST", f"/api/v1/runs/{r}/cancel", self.raw("{}{}")),
            ("invoke", "POST", "/api/v1/workflows/bi-done/invoke", self.raw("{")),
        ]
        self.check_cases([(n, m, p, k, 400, "invalid_request") for n, m, p, k in cases])

    def test_wrong_types(self):
        r = self.run_id
        cases = [
            ("expected_status number", f"/api/v1/runs/{r}/pause", {"expected_status": 5}),
            ("expected_status unknown", f"/api/v1/runs/{r}/cancel", {"expected_status": "sleepy"}),
            ("reason number", f"/api/v1/runs/{r}/cancel", {"reason": 42}),
            ("reason list", f"/api/v1/runs/{r}/cancel", {"reason": ["a"]}),
            ("event_type number", f"/api/v1/runs/{r}/events", {"event_type": 7, "payload": {}}),
            ("event_type missing", f"/api/v1/runs/{r}/events", {"payload": {}}),
            ("token role unknown", "/api/v1/tokens", {"role": "superuser", "name": "x"}),
            ("token name number", "/api/v1/tokens", {"role": "viewer", "name": 5}),
            ("token role missing", "/api/v1/tokens", {"name": "x"}),
            ("workflow status unknown", "/api/v1/workflows/bi-wf/status", {"status": "sleeping"}),
            ("workflow status bool", "/api/v1/workflows/bi-wf/status", {"status": True}),
            ("pause body array", f"/api/v1/runs/{r}/pause", []),
            ("cancel body string", f"/api/v1/runs/{r}/cancel", "cancel"),
            ("start body array", "/api/v1/workflows/bi-done/runs", [1]),
            ("session token number", "/api/v1/session", {"token": 5}),
        ]
        self.check_cases([(n, "POST", p, {"body": b, **({"token": None} if "session" in p else {})},
                           400, "invalid_request") for n, p, b in cases])

    def test_unknown_fields_in_bodies(self):
        r = self.run_id
        cases = [
            ("pause", f"/api/v1/runs/{r}/pause", {"expected_status": "waiting", "force": True}),
            ("resume", f"/api/v1/runs/{r}/resume", {"bogus": 1}),
            ("cancel", f"/api/v1/runs/{r}/cancel", {"reason": "x", "extra": 1}),
            ("events", f"/api/v1/runs/{r}/events",
             {"event_type": "never-sent", "payload": {}, "extra": 1}),
            ("start", "/api/v1/workflows/bi-done/runs", {"input": {}, "inputs": {}}),
            ("token", "/api/v1/tokens", {"role": "viewer", "name": "x", "scopes": []}),
            ("workflow status", "/api/v1/workflows/bi-wf/status", {"status": "active", "why": "x"}),
        ]
        self.check_cases([(n, "POST", p, {"body": b}, 400, "invalid_request")
                          for n, p, b in cases])

    def test_bad_definitions(self):
        cases = [
            ("steps not a list", {"id": "bi-def", "steps": "a"}),
            ("no steps", {"id": "bi-def"}),
            ("step not an object", {"id": "bi-def", "steps": [1]}),
            ("step without id", {"id": "bi-def", "steps": [{"type": "noop"}]}),
            ("unknown kind", {"id": "bi-def", "kind": "lambda", "steps": [noop("a", 1)]}),
            ("unknown top-level field", {"id": "bi-def", "stepz": [], "steps": [noop("a", 1)]}),
            ("too many steps", {"id": "bi-def", "steps": [noop(f"s{i}", i) for i in range(101)]}),
        ]
        self.check_cases([(n, "PUT", "/api/v1/workflows/bi-def", {"body": b}, 400,
                           "invalid_definition") for n, b in cases]
                         + [("definition is an array", "PUT", "/api/v1/workflows/bi-def",
                             {"body": []}, 400, ("invalid_definition", "invalid_request"))])

    def test_wrong_content_type(self):
        r = self.run_id
        cases = [
            ("start text/plain", "POST", "/api/v1/workflows/bi-done/runs",
             self.raw('{"input": {}}', "text/plain")),
            ("put form", "PUT", "/api/v1/workflows/bi-ct",
             self.raw('{"id": "bi-ct", "steps": []}', "application/x-www-form-urlencoded")),
            ("pause text/plain", "POST", f"/api/v1/runs/{r}/pause", self.raw("{}", "text/plain")),
            ("events xml", "POST", f"/api/v1/runs/{r}/events",
             self.raw("<event/>", "application/xml")),
            ("trigger multipart", "POST", "/api/v1/workflows/bi-done/trigger",
             self.raw("--b--\r\n", "multipart/form-data; boundary=b")),
            ("token text/json-ish", "POST", "/api/v1/tokens",
             self.raw('{"role": "viewer", "name": "x"}', "text/json")),
        ]
        self.check_cases([(n, m, p, k, 415, None) for n, m, p, k in cases])

    def test_json_with_charset_is_accepted(self):
        s = self.server
        resp = s.api("POST", "/api/v1/workflows/bi-done/runs",
                     **self.raw('{"input": {"v": 2}}', "application/json; charset=utf-8"))
        run = self.assertStatus(resp, 201)
        self.assertEqual(s.wait_status(run["id"], *TERMINAL)["output"], 2)

    def test_body_over_one_mib(self):
        r = self.run_id
        big = "x" * (MiB + 16)
        cases = [
            ("start", "POST", "/api/v1/workflows/bi-done/runs", {"body": {"input": {"s": big}}}),
            ("trigger", "POST", "/api/v1/workflows/bi-done/trigger", {"body": {"s": big}}),
            ("put workflow", "PUT", "/api/v1/workflows/bi-big",
             {"body": {"id": "bi-big", "steps": [noop("a", big)]}}),
            ("event", "POST", f"/api/v1/runs/{r}/events",
             {"body": {"event_type": "never-sent", "payload": big}}),
            ("cancel", "POST", f"/api/v1/runs/{r}/cancel", {"body": {"reason": big}}),
            ("invoke", "POST", "/api/v1/workflows/bi-done/invoke", {"body": {"s": big}}),
        ]
        self.check_cases([(n, m, p, k, 413, "payload_too_large") for n, m, p, k in cases])

    def test_body_just_under_one_mib_is_accepted(self):
        s = self.server
        # Over 1,000,000 bytes but under 1 MiB (1,048,576): the limit is in MiB.
        body = json.dumps({"input": {"s": "y" * 1_040_000}}).encode()
        self.assertLess(len(body), MiB)
        resp = s.api("POST", "/api/v1/workflows/bi-done/runs", raw_body=body)
        run = self.assertStatus(resp, 201)
        self.assertEqual(len(s.get_run(run["id"])["input"]["s"]), 1_040_000)
        s.wait_status(run["id"], *TERMINAL)

    def test_unknown_ids(self):
        b = BOGUS_RUN
        cases = [
            ("get run", "GET", f"/api/v1/runs/{b}", {}),
            ("get run not an id", "GET", "/api/v1/runs/not-a-run-id", {}),
            ("get run scoped", "GET", f"/api/v1/workflows/bi-wf/runs/{b}", {}),
            ("get run scoped wrong workflow", "GET",
             f"/api/v1/workflows/bi-done/runs/{self.run_id}", {}),
            ("pause", "POST", f"/api/v1/runs/{b}/pause", {"body": {}}),
            ("resume", "POST", f"/api/v1/runs/{b}/resume", {"body": {}}),
            ("cancel", "POST", f"/api/v1/runs/{b}/cancel", {"body": {}}),
            ("events", "POST", f"/api/v1/runs/{b}/events",
             {"body": {"event_type": "x", "payload": {}}}),
            ("replay", "POST", f"/api/v1/runs/{b}/replay", {}),
            ("stream", "GET", f"/api/v1/runs/{b}/events/stream", {}),
            ("delete run", "DELETE", f"/api/v1/workflows/bi-wf/runs/{b}", {}),
            ("get workflow", "GET", "/api/v1/workflows/bi-nothing", {}),
            ("start on unknown workflow", "POST", "/api/v1/workflows/bi-nothing/runs",
             {"body": {"input": {}}}),
            ("trigger unknown workflow", "POST", "/api/v1/workflows/bi-nothing/trigger",
             {"body": {}}),
            ("status unknown workflow", "POST", "/api/v1/workflows/bi-nothing/status",
             {"body": {"status": "disabled"}}),
            ("invoke unknown workflow", "POST", "/api/v1/workflows/bi-nothing/invoke",
             {"body": {}}),
            ("revoke unknown token", "DELETE", "/api/v1/tokens/tok_00000000000000000000000000", {}),
            ("unknown route", "GET", "/api/v1/nothing-here", {}),
            ("unknown route under runs", "GET", f"/api/v1/runs/{self.run_id}/nothing", {}),
            ("clock route without --fake-clock", "POST", "/api/v1/testing/clock/advance",
             {"body": {"ms": 1000}}),
        ]
        self.check_cases([(n, m, p, k, 404, "not_found") for n, m, p, k in cases])

    def test_odd_paths_do_not_crash(self):
        cases = [
            ("nul byte", "GET", "/api/v1/runs/%00", {}),
            ("dot segments", "GET", "/api/v1/runs/..%2F..%2Fadmin-token", {}),
            ("very long id", "GET", "/api/v1/runs/" + "r" * 4000, {}),
            ("wrong method", "PATCH", f"/api/v1/runs/{self.run_id}", {"body": {}}),
        ]
        self.check_cases([(n, m, p, k, (400, 404, 405, 414), None) for n, m, p, k in cases])

    def test_invalid_workflow_slugs(self):
        cases = []
        for slug in ("Bad_Slug", "-lead", "a" * 64, "UPPER", "sp%20ace", "dot.ted"):
            body = {"id": slug.replace("%20", " "), "steps": [noop("a", 1)]}
            cases.append((f"put {slug}", "PUT", f"/api/v1/workflows/{slug}", {"body": body}, 400,
                          ("invalid_request", "invalid_definition")))
        self.check_cases(cases)

    def test_longest_valid_slug(self):
        s = self.server
        slug = "z" + "9-" * 31
        self.assertEqual(len(slug), 63)
        self.assertEqual(s.put_workflow({"id": slug, "steps": [noop("a", 1)]})["id"], slug)

    def test_bad_query_parameters(self):
        r = self.run_id
        cases = [
            ("wait_ms text", f"/api/v1/runs/{r}?wait_ms=abc"),
            ("wait_ms negative", f"/api/v1/runs/{r}?wait_ms=-5"),
            ("wait_ms fraction", f"/api/v1/runs/{r}?wait_ms=1.5"),
            ("limit text", "/api/v1/runs?limit=abc"),
            ("limit negative", "/api/v1/runs?limit=-1"),
            ("cursor garbage", "/api/v1/runs?cursor=%%%garbage"),
            ("cursor unknown", "/api/v1/runs?cursor=bm90LWEtY3Vyc29y"),
            ("workflows limit text", "/api/v1/workflows?limit=ten"),
            ("workflows cursor garbage", "/api/v1/workflows?cursor=zzz%20zzz"),
            ("workflows cursor made up", "/api/v1/workflows?cursor=no-such-workflow"),
            ("audit cursor made up", "/api/v1/audit?cursor=made-up"),
            ("audit cursor of another kind", f"/api/v1/audit?cursor={r}"),
        ]
        self.check_cases([(n, "GET", p, {}, 400, "invalid_request") for n, p in cases])

    def test_numbers_no_double_or_64_bit_integer_holds_are_refused(self):
        s = self.server
        before = self.snapshot()
        for literal in (b"1e400", b"-1e400", b"18446744073709551616",
                        b"-9223372036854775809", b"123456789012345678901234567890"):
            body = b'{"input": {"n": ' + literal + b"}}"
            resp = s.api("POST", "/api/v1/workflows/bi-done/runs", raw_body=body)
            self.assertError(resp, 400, "invalid_request")
        self.assertEqual(self.snapshot(), before)
        # The largest 64-bit integers and ordinary floats are kept exactly.
        for n in (18446744073709551615, -9223372036854775808, 9007199254740993):
            run = s.run_and_wait("bi-done", {"v": n})
            self.assertEqual(run["output"], n)
        run = s.run_and_wait("bi-done", {"v": 1.5e300})
        self.assertEqual(run["output"], 1.5e300)

    def test_values_cannot_forge_log_lines(self):
        s = self.server
        s.put_workflow({"id": "bi-log", "steps": [
            {"id": "e", "type": "wait_for_event", "with": {"event_type": "never"}}]})
        run = s.wait_status(s.start_run("bi-log")["id"], "waiting")
        forged = "2026-01-01T00:00:00.000Z info event=run.cancel run=forged"
        token = s.create_token("operator", "ops\nFORGED-NAME")["token"]
        self.assertStatus(s.control(run["id"], "cancel", {"reason": "bye\r\n" + forged},
                                    token=token), 200)
        log = s.log_text()
        self.assertIn("bye\\r\\n" + forged, log)
        self.assertFalse(any(line.startswith(forged) for line in log.splitlines()))
        self.assertFalse(any(line.startswith("FORGED-NAME") for line in log.splitlines()))

    def test_data_files_are_the_servers_alone(self):
        import os
        import stat
        s = self.server
        self.assertEqual(stat.S_IMODE(os.stat(s.data_dir).st_mode) & 0o077, 0)
        seen = set()
        for root, dirs, files in os.walk(s.data_dir):
            for name in dirs + files:
                if root == s.data_dir and name == "server.log":
                    continue  # the harness's, not the server's
                path = os.path.join(root, name)
                seen.add(os.path.relpath(path, s.data_dir))
                self.assertEqual(stat.S_IMODE(os.stat(path).st_mode) & 0o077, 0, path)
        store_files = ("instance-id",) if on_postgres() else ("stepwell.db", "stepwell.db-wal")
        for name in ("admin-token", "listen-address", "secret.key") + store_files:
            self.assertIn(name, seen)

    def test_deep_nesting_does_not_crash(self):
        s = self.server
        depth = 100_000
        body = b'{"input": {"deep": ' + b"[" * depth + b"]" * depth + b"}}"
        resp = s.api("POST", "/api/v1/workflows/bi-done/runs", raw_body=body)
        self.assertIn(resp.status, (201, 400, 413), resp)
        if resp.status == 201:
            # Let it settle so later snapshots are stable.
            s.wait_status(resp.json["id"], *TERMINAL)
        else:
            self.assertErrorShape(resp)
        self.assertTrue(s.healthy())
        self.assertTrue(s.running())

    def test_server_still_works(self):
        s = self.server
        run = s.run_and_wait("bi-done", {"v": "fine"})
        self.assertEqual(run["output"], "fine")
        self.assertEqual(s.get_run(self.run_id)["status"], "waiting")


if __name__ == "__main__":
    unittest.main()
