"""The auth matrix: every workflow, run, token and audit route with no token, an invalid
token, the agent, viewer, operator and admin roles, and an admin token of another
workspace (the agent routes' own checks are in test_agents.py). Also tokens (listing
without secrets, revocation) and the session cookie."""

import re
import secrets
import unittest

from harness import E2ETestCase, http_step, noop

ROLE_RANK = {"agent": -1, "viewer": 0, "operator": 1, "admin": 2}
BOGUS_RUN = "run_00000000000000000000000000"


class AuthTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = cls.start_target()
        cls.server = cls.start_server(allow_private_targets=True)
        s, t = cls.server, cls.target
        cls.blocked = t.route("/auth-blocked", block=True)
        cls.addClassCleanup(t.release, cls.blocked)
        cls.wf_event = {"id": "auth-wf", "steps": [
            {"id": "e", "type": "wait_for_event", "with": {"event_type": "go"}}]}
        s.put_workflow(cls.wf_event)
        s.put_workflow({"id": "auth-busy", "steps": [
            http_step("h", t.url(cls.blocked), timeout="1h"), noop("after", 1)]})
        s.put_workflow({"id": "auth-done", "steps": [noop("a", "done")]})
        s.put_workflow({"id": "auth-script", "kind": "script", "steps": [noop("a", "scripted")]})
        cls.tokens = {"admin": s.admin_token}
        cls.token_info = {}
        for role in ("agent", "viewer", "operator"):
            info = s.create_token(role, f"e2e-{role}")
            cls.tokens[role] = info["token"]
            cls.token_info[role] = info
        cls.other_token = s.create_workspace("other-ws")

    # ------------------------------------------------------------- fixtures

    def waiting_run(self):
        run = self.server.start_run("auth-wf")
        return self.server.wait_status(run["id"], "waiting")

    def running_run(self):
        run = self.server.start_run("auth-busy")
        return self.server.wait_status(run["id"], "running")

    def paused_run(self):
        run = self.running_run()
        self.assertStatus(self.server.control(run["id"], "pause"), 200)
        return self.server.get_run(run["id"])

    def done_run(self):
        return self.server.run_and_wait("auth-done")

    def run_snapshot(self, run):
        return lambda: self.server.get_run(run["id"])["version"]

    def count_snapshot(self, query):
        return lambda: len(self.server.list_all(f"/api/v1/runs?{query}"))

    def token_snapshot(self):
        return lambda: sorted(t["id"] for t in self.server.list_all("/api/v1/tokens"))

    def workflow_snapshot(self, wf):
        def snap():
            body = self.server.api("GET", f"/api/v1/workflows/{wf}").json
            return body["version"], body["status"]
        return snap

    def routes(self):
        """(name, min role, expected success status, scoped?, make) where make() returns
        (method, path, body, snapshot). `scoped` routes address an object of the
        workspace: another workspace gets 404."""
        s = self.server

        def run_route(method, suffix, body, fixture):
            def make():
                run = fixture()
                return method, f"/api/v1/runs/{run['id']}{suffix}", body, self.run_snapshot(run)
            return make

        def token_delete():
            info = s.create_token("viewer", "e2e-throwaway")
            return "DELETE", f"/api/v1/tokens/{info['id']}", None, self.token_snapshot()

        return [
            ("workflow put", "admin", (200,), False,
             lambda: ("PUT", "/api/v1/workflows/auth-wf", self.wf_event,
                      self.workflow_snapshot("auth-wf"))),
            ("workflow list", "viewer", (200,), False,
             lambda: ("GET", "/api/v1/workflows", None, None)),
            ("workflow get", "viewer", (200,), True,
             lambda: ("GET", "/api/v1/workflows/auth-wf", None, None)),
            ("workflow status", "admin", (200,), True,
             lambda: ("POST", "/api/v1/workflows/auth-wf/status", {"status": "active"},
                      self.workflow_snapshot("auth-wf"))),
            ("workflow invoke", "operator", (200,), True,
             lambda: ("POST", "/api/v1/workflows/auth-script/invoke", {}, None)),
            ("run start", "operator", (201,), True,
             lambda: ("POST", "/api/v1/workflows/auth-done/runs", {"input": {}},
                      self.count_snapshot("workflow_id=auth-done"))),
            ("run trigger", "operator", (201,), True,
             lambda: ("POST", "/api/v1/workflows/auth-done/trigger", {},
                      self.count_snapshot("workflow_id=auth-done"))),
            ("run list", "viewer", (200,), False,
             lambda: ("GET", "/api/v1/runs", None, None)),
            ("run get", "viewer", (200,), True, run_route("GET", "", None, self.done_run)),
            ("run long-poll", "viewer", (200,), True,
             run_route("GET", "?wait_ms=10", None, self.done_run)),
            ("run get scoped", "viewer", (200,), True, self._scoped_get),
            ("run pause", "operator", (200,), True,
             run_route("POST", "/pause", {}, self.running_run)),
            ("run resume", "operator", (200,), True,
             run_route("POST", "/resume", {}, self.paused_run)),
            ("run cancel", "operator", (200,), True,
             run_route("POST", "/cancel", {}, self.waiting_run)),
            ("run delete", "operator", (200,), True, self._delete_run),
            ("run events", "operator", (202,), True,
             run_route("POST", "/events", {"event_type": "go", "payload": {}},
                       self.waiting_run)),
            ("run replay", "operator", (201,), True, self._replay),
            ("run stream", "viewer", (200,), True,
             run_route("GET", "/events/stream", None, self.done_run)),
            ("token create", "admin", (201,), False,
             lambda: ("POST", "/api/v1/tokens", {"role": "viewer", "name": "e2e-made"},
                      self.token_snapshot())),
            ("token list", "admin", (200,), False,
             lambda: ("GET", "/api/v1/tokens", None, None)),
            ("token revoke", "admin", (200, 204), True, token_delete),
            ("audit", "admin", (200,), False, lambda: ("GET", "/api/v1/audit", None, None)),
        ]

    def _scoped_get(self):
        run = self.done_run()
        return "GET", f"/api/v1/workflows/auth-done/runs/{run['id']}", None, None

    def _delete_run(self):
        run = self.waiting_run()
        return ("DELETE", f"/api/v1/workflows/auth-wf/runs/{run['id']}", None,
                self.run_snapshot(run))

    def _replay(self):
        run = self.done_run()
        counts = self.count_snapshot("workflow_id=auth-done")
        return "POST", f"/api/v1/runs/{run['id']}/replay", None, counts

    # --------------------------------------------------------------- matrix

    def test_unauthenticated_is_401(self):
        s = self.server
        bad_headers = [
            ("no token", {}),
            ("invalid token", {"Authorization": "Bearer sw_" + secrets.token_urlsafe(32)}),
            ("empty bearer", {"Authorization": "Bearer "}),
            ("basic scheme", {"Authorization": "Basic " + "YWRtaW46YWRtaW4="}),
            ("raw admin token without scheme", {"Authorization": s.admin_token}),
        ]
        for name, _, _, _, make in self.routes():
            method, path, body, snapshot = make()
            before = snapshot() if snapshot else None
            for who, headers in bad_headers:
                with self.subTest(route=name, who=who):
                    resp = s.api(method, path, body, token=None, headers=headers)
                    self.assertError(resp, 401, "unauthorized")
            if snapshot:
                self.assertEqual(snapshot(), before, f"{name}: a refused request changed state")

    def test_roles(self):
        s = self.server
        for name, min_role, ok, _, make in self.routes():
            for role in ("agent", "viewer", "operator", "admin"):
                allowed = ROLE_RANK[role] >= ROLE_RANK[min_role]
                method, path, body, snapshot = make()
                before = snapshot() if snapshot else None
                with self.subTest(route=name, role=role):
                    resp = s.api(method, path, body, token=self.tokens[role])
                    if allowed:
                        self.assertIn(resp.status, ok, f"{name} as {role}: {resp!r}")
                    else:
                        self.assertError(resp, 403, "forbidden")
                        if snapshot:
                            self.assertEqual(snapshot(), before,
                                             f"{name}: a refused request changed state")

    def test_other_workspace(self):
        s = self.server
        other = self.other_token
        for name, _, ok, scoped, make in self.routes():
            if name == "workflow put":
                continue  # its own workspace's workflow; see test_other_workspace_put
            method, path, body, snapshot = make()
            before = snapshot() if snapshot else None
            with self.subTest(route=name):
                resp = s.api(method, path, body, token=other)
                if scoped:
                    self.assertError(resp, 404, "not_found")
                    if snapshot:
                        self.assertEqual(snapshot(), before, f"{name}: changed state")
                else:
                    self.assertIn(resp.status, ok, f"{name} as other workspace: {resp!r}")

    def test_other_workspace_sees_none_of_ours(self):
        s = self.server
        other = self.other_token
        run = self.waiting_run()
        ours_runs = {r["id"] for r in s.list_all("/api/v1/runs")}
        self.assertIn(run["id"], ours_runs)
        theirs = {r["id"] for r in s.list_all("/api/v1/runs", token=other)}
        self.assertEqual(theirs & ours_runs, set())
        theirs_wf = {w["id"] for w in s.list_all("/api/v1/workflows", token=other)}
        self.assertNotIn("auth-script", theirs_wf)
        self.assertNotIn("auth-busy", theirs_wf)
        our_tokens = {t["id"] for t in s.list_all("/api/v1/tokens")}
        their_tokens = {t["id"] for t in s.list_all("/api/v1/tokens", token=other)}
        self.assertEqual(our_tokens & their_tokens, set())
        self.assertTrue(their_tokens, "the other workspace has its admin token")
        self.assertStatus(s.control(run["id"], "cancel"), 200)
        resp = s.api("GET", f"/api/v1/audit?target={run['id']}", token=other)
        if resp.status == 200:
            self.assertEqual(resp.json["items"], [])
        else:
            self.assertError(resp, 404, "not_found")
        for entry in s.list_all("/api/v1/audit", token=other):
            self.assertNotIn(entry.get("target"), ours_runs)
        # The other workspace's token id cannot revoke ours.
        resp = s.api("DELETE", f"/api/v1/tokens/{self.token_info['viewer']['id']}", token=other)
        self.assertError(resp, 404, "not_found")
        self.assertStatus(s.api("GET", "/api/v1/runs?limit=1", token=self.tokens["viewer"]), 200)
        # And 404 for ours looks like 404 for nothing at all.
        ghost = s.api("GET", f"/api/v1/runs/{BOGUS_RUN}", token=other)
        self.assertError(ghost, 404, "not_found")

    def test_other_workspace_put(self):
        # Workflow ids are per workspace: the other workspace's PUT of the same id makes
        # its own workflow (201, version 1) and leaves ours alone.
        s = self.server
        s.put_workflow({"id": "auth-shared", "steps": [noop("a", "ours")]})
        s.put_workflow({"id": "auth-shared", "steps": [noop("a", "ours-2")]})
        resp = s.api("PUT", "/api/v1/workflows/auth-shared",
                     {"id": "auth-shared", "steps": [noop("a", "theirs")]}, token=self.other_token)
        self.assertEqual(self.assertStatus(resp, 201)["version"], 1)
        self.assertEqual(s.api("GET", "/api/v1/workflows/auth-shared").json["version"], 2)
        self.assertEqual(s.run_and_wait("auth-shared")["output"], "ours-2")
        resp = s.api("POST", "/api/v1/workflows/auth-shared/runs", {"input": {}},
                     token=self.other_token)
        theirs = self.assertStatus(resp, 201)
        self.assertEqual(theirs["workflow_version"], 1)
        self.assertError(s.api("GET", f"/api/v1/runs/{theirs['id']}"), 404, "not_found")

    # --------------------------------------------------------------- tokens

    def test_tokens_listed_without_secrets(self):
        s = self.server
        made = s.create_token("operator", "e2e-listed")
        self.assertRegex(made["token"], r"^sw_[A-Za-z0-9_-]{43}$")
        self.assertEqual(made["role"], "operator")
        self.assertTrue(made["id"])
        resp = s.api("GET", "/api/v1/tokens")
        self.assertStatus(resp, 200)
        secrets_known = [made["token"], s.admin_token, *self.tokens.values()]
        for secret in secrets_known:
            self.assertNotIn(secret, resp.text)
        items = s.list_all("/api/v1/tokens")
        by_id = {t["id"]: t for t in items}
        self.assertIn(made["id"], by_id)
        self.assertEqual(by_id[made["id"]]["role"], "operator")
        self.assertEqual(by_id[made["id"]]["name"], "e2e-listed")
        names = {t["name"] for t in items}
        self.assertTrue({"admin", "e2e-viewer", "e2e-operator", "e2e-agent"} <= names, names)
        for item in items:
            self.assertNotIn("token", item)

    def test_revoked_token_is_401(self):
        s = self.server
        made = s.create_token("operator", "e2e-revoked")
        self.assertStatus(s.api("GET", "/api/v1/runs?limit=1", token=made["token"]), 200)
        resp = s.api("DELETE", f"/api/v1/tokens/{made['id']}")
        self.assertIn(resp.status, (200, 204), resp)
        resp = s.api("GET", "/api/v1/runs?limit=1", token=made["token"])
        self.assertError(resp, 401, "unauthorized")
        resp = s.api("POST", "/api/v1/workflows/auth-done/runs", {"input": {}},
                     token=made["token"])
        self.assertError(resp, 401, "unauthorized")
        ids = {t["id"] for t in s.list_all("/api/v1/tokens")
               if not t.get("revoked") and not t.get("revoked_at")}
        self.assertNotIn(made["id"], ids)
        resp = s.api("POST", "/api/v1/session", {"token": made["token"]}, token=None)
        self.assertError(resp, 401, "unauthorized")

    # -------------------------------------------------------------- session

    def session_cookie(self, token):
        s = self.server
        resp = s.api("POST", "/api/v1/session", {"token": token}, token=None)
        self.assertEqual(resp.status, 204, resp)
        cookies = resp.headers.get_all("Set-Cookie") or []
        self.assertTrue(cookies, "no Set-Cookie")
        session = [c for c in cookies
                   if "httponly" in [a.strip().lower() for a in c.split(";")[1:]]]
        self.assertTrue(session, f"no HttpOnly cookie in {cookies}")
        for cookie in session:
            attrs = [a.strip().lower() for a in cookie.split(";")[1:]]
            self.assertIn("samesite=strict", attrs, cookie)
        pairs = [c.split(";")[0].strip() for c in cookies]
        for pair in pairs:
            self.assertRegex(pair, r"^[^=\s]+=\S+$")
        return "; ".join(pairs)

    def test_session_cookie(self):
        s = self.server
        viewer = self.session_cookie(self.tokens["viewer"])
        resp = s.api("GET", "/api/v1/runs?limit=1", token=None, headers={"Cookie": viewer})
        self.assertStatus(resp, 200)
        resp = s.api("GET", "/api/v1/tokens", token=None, headers={"Cookie": viewer})
        self.assertError(resp, 403, "forbidden")
        run = self.waiting_run()
        resp = s.control(run["id"], "cancel", token=None, headers={"Cookie": viewer})
        self.assertError(resp, 403, "forbidden")

        op = self.session_cookie(self.tokens["operator"])
        running = self.running_run()
        version = running["version"]
        refused = [
            ("text/plain body", dict(raw_body=b"{}", content_type="text/plain")),
            ("form body", dict(raw_body=b"reason=x",
                               content_type="application/x-www-form-urlencoded")),
            ("multipart", dict(raw_body=b"--b--\r\n",
                               content_type="multipart/form-data; boundary=b")),
            ("no content type", dict(raw_body=b"{}", content_type=None)),
            ("no body", dict()),
        ]
        for name, kwargs in refused:
            with self.subTest(refused=name):
                resp = s.api("POST", f"/api/v1/runs/{running['id']}/pause", token=None,
                             headers={"Cookie": op}, **kwargs)
                self.assertIn(resp.status, (403, 415), resp)
                self.assertErrorShape(resp)
                self.assertEqual(s.get_run(running["id"])["version"], version)
        resp = s.api("DELETE", f"/api/v1/workflows/auth-busy/runs/{running['id']}", token=None,
                     headers={"Cookie": op})
        self.assertIn(resp.status, (403, 415), resp)
        self.assertEqual(s.get_run(running["id"])["status"], "running")
        resp = s.api("POST", "/api/v1/workflows/auth-done/runs", token=None,
                     headers={"Cookie": op}, raw_body=b'{"input": {}}', content_type="text/plain")
        self.assertIn(resp.status, (403, 415), resp)

        resp = s.control(running["id"], "pause", {}, token=None, headers={"Cookie": op})
        self.assertEqual(self.assertStatus(resp, 200)["status"], "paused")
        resp = s.api("DELETE", f"/api/v1/workflows/auth-busy/runs/{running['id']}", token=None,
                     headers={"Cookie": op, "Content-Type": "application/json"})
        self.assertEqual(self.assertStatus(resp, 200)["status"], "cancelled")

    def test_sign_out_clears_the_cookie(self):
        s = self.server
        op = self.session_cookie(self.tokens["operator"])
        resp = s.api("DELETE", "/api/v1/session", token=None,
                     headers={"Cookie": op, "Content-Type": "application/json"})
        self.assertEqual(resp.status, 204, resp)
        cleared = resp.headers.get_all("Set-Cookie") or []
        names = {p.split("=")[0] for p in op.split("; ")}
        expired = [c for c in cleared if c.split("=")[0] in names
                   and re.search(r"(?i)max-age=0|expires=thu, 01 jan 1970", c)]
        self.assertTrue(expired, f"sign-out did not expire the session cookie: {cleared}")

    def test_signed_out_session_cannot_be_replayed(self):
        """Beyond the literal contract ("DELETE /api/v1/session signs out"): a session
        value captured before sign-out must not authenticate afterwards (OWASP session
        management: invalidate on logout, server side)."""
        s = self.server
        op = self.session_cookie(self.tokens["operator"])
        viewer = self.session_cookie(self.tokens["viewer"])
        resp = s.api("DELETE", "/api/v1/session", token=None,
                     headers={"Cookie": op, "Content-Type": "application/json"})
        self.assertEqual(resp.status, 204, resp)
        resp = s.api("GET", "/api/v1/runs?limit=1", token=None, headers={"Cookie": op})
        self.assertError(resp, 401, "unauthorized")
        # Another session is not affected.
        resp = s.api("GET", "/api/v1/runs?limit=1", token=None, headers={"Cookie": viewer})
        self.assertStatus(resp, 200)

    def test_session_errors(self):
        s = self.server
        resp = s.api("POST", "/api/v1/session", {"token": "sw_" + secrets.token_urlsafe(32)},
                     token=None)
        self.assertError(resp, 401, "unauthorized")
        self.assertFalse(resp.headers.get_all("Set-Cookie"))
        resp = s.api("POST", "/api/v1/session", {}, token=None)
        self.assertError(resp, 400, "invalid_request")
        cookie = self.session_cookie(self.tokens["viewer"])
        forged = "; ".join(p.split("=")[0] + "=forged-session-value" for p in cookie.split("; "))
        resp = s.api("GET", "/api/v1/runs?limit=1", token=None, headers={"Cookie": forged})
        self.assertError(resp, 401, "unauthorized")

    def test_healthz_needs_no_token(self):
        resp = self.server.api("GET", "/healthz", token=None)
        self.assertEqual(self.assertStatus(resp, 200), {"status": "ok"})


if __name__ == "__main__":
    unittest.main()
