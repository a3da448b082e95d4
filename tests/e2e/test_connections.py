"""Connections (API.md "Connections and reauthorization", helpers/reauth-spec.md) against
the real binary and the fake OAuth provider: create/list/get/delete, bad bodies that
change nothing, roles and workspaces, Idempotency-Key, refresh (200, 409, 502),
reconnect, the authorization-code flow with PKCE through /oauth/callback, audit, and
secrets absent from every answer, the database files and the server log."""

import socket
import unittest

from harness import E2ETestCase, parse_time
from oauth_helpers import (NEEDS_REAUTH, connection_workflow, new_client_secret, oauth2,
                           secrets_in, unique)

FIELDS = {"id", "name", "app", "status", "error", "token_url", "client_id", "authorize_url",
          "scopes", "expires_at", "created_at", "updated_at"}


class ConnectionsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.provider = cls.start_oauth_provider(client_secret=new_client_secret())
        cls.server = cls.start_server(fake_clock=True, allow_private_targets=True)
        s = cls.server
        cls.viewer = s.create_token("viewer", "vic")["token"]
        cls.operator = s.create_token("operator", "opal")["token"]
        cls.other_admin = s.create_workspace("elsewhere")

    def setUp(self):
        self.provider.reset()

    # --- helpers

    def create(self, name=None, app="slack", **fields):
        return self.server.create_connection(name or unique("conn"),
                                             oauth2(self.provider, **fields), app=app)

    def get(self, conn_id, **kwargs):
        return self.assertStatus(self.server.api("GET", f"/api/v1/connections/{conn_id}",
                                                 **kwargs), 200)

    def post(self, conn_id, action, body=None, **kwargs):
        return self.server.api("POST", f"/api/v1/connections/{conn_id}/{action}",
                               body if body is not None else {}, **kwargs)

    def ids(self, query=""):
        return [c["id"] for c in self.server.list_all(f"/api/v1/connections{query}")]

    def audit(self, conn_id):
        resp = self.server.api("GET", f"/api/v1/audit?target={conn_id}")
        return self.assertStatus(resp, 200)["items"]

    def assertConnection(self, conn):
        self.assertTrue(FIELDS <= set(conn), f"missing {FIELDS - set(conn)} in {conn}")
        leaked = [k for k in conn if "secret" in k or (k.endswith("token") and k != "token_url")]
        self.assertEqual(leaked, [], conn)
        self.assertRegex(conn["id"], r"^conn_[A-Za-z0-9_-]+$")
        parse_time(conn["created_at"])
        parse_time(conn["updated_at"])

    def kill_refresh(self, conn_id):
        """Puts the connection in `error` (the provider answers invalid_grant once)."""
        self.provider.set_mode(token="invalid_grant", times=1)
        self.assertError(self.post(conn_id, "refresh"), 409, "connection_needs_reauth",
                         NEEDS_REAUTH)
        return self.get(conn_id)

    # --- create, read, list, delete

    def test_create_get_list_delete(self):
        s, p = self.server, self.provider
        name = unique("billing")
        body = oauth2(p, authorize_url=p.authorize_url, scopes=["read", "write"])
        resp = s.api("POST", "/api/v1/connections",
                     {"name": name, "app": "slack", "oauth2": body})
        conn = self.assertStatus(resp, 201)
        self.assertConnection(conn)
        self.assertEqual((conn["name"], conn["app"], conn["status"], conn["error"]),
                         (name, "slack", "active", None))
        self.assertEqual((conn["token_url"], conn["client_id"], conn["authorize_url"],
                          conn["scopes"]),
                         (p.token_url, p.client_id, p.authorize_url, ["read", "write"]))
        self.assertIsNone(conn["expires_at"])
        self.assertEqual(secrets_in(resp.body, [body["client_secret"],
                                                body["refresh_token"]]), [])
        self.assertEqual(self.get(conn["id"]), conn)
        self.assertEqual(self.get(conn["id"], token=self.viewer), conn)
        self.assertEqual(p.stats()["token_requests"], 0)  # creating calls nothing

        later = self.create()
        listed = self.ids()
        self.assertLess(listed.index(later["id"]), listed.index(conn["id"]))  # newest first
        self.assertIn(conn["id"], self.ids("?status=active"))
        self.assertNotIn(conn["id"], self.ids("?status=error"))
        self.assertError(s.api("GET", "/api/v1/connections?status=broken"), 400)

        self.assertEqual(s.api("DELETE", f"/api/v1/connections/{conn['id']}").status, 204)
        self.assertError(s.api("GET", f"/api/v1/connections/{conn['id']}"), 404)
        self.assertError(s.api("DELETE", f"/api/v1/connections/{conn['id']}"), 404)
        self.assertNotIn(conn["id"], self.ids())

    def test_optional_fields_round_trip(self):
        p = self.provider
        seeded = p.seed()
        conn = self.create(refresh_token=seeded["refresh_token"],
                           access_token=seeded["access_token"],
                           expires_at="2031-02-03T04:05:06Z")
        self.assertEqual(conn["expires_at"], "2031-02-03T04:05:06.000Z")
        self.assertIsNone(conn["authorize_url"])
        self.assertIn(conn["scopes"], ([], None))
        self.assertEqual(self.create(name="a" * 63)["name"], "a" * 63)
        self.assertEqual(self.create(name="0-a_b")["name"], "0-a_b")

    def test_bad_bodies_are_400_and_change_nothing(self):
        s, p = self.server, self.provider
        good = oauth2(p)
        before = self.ids()

        def without(key):
            return {k: v for k, v in good.items() if k != key}

        bodies = [
            ("not an object", []),
            ("no name", {"app": "slack", "oauth2": good}),
            ("no app", {"name": "x1", "oauth2": good}),
            ("no oauth2", {"name": "x1", "app": "slack"}),
            ("oauth2 not an object", {"name": "x1", "app": "slack", "oauth2": "x"}),
            ("unknown field", {"name": "x1", "app": "slack", "oauth2": good, "color": 1}),
            ("unknown oauth2 field", {"name": "x1", "app": "slack",
                                      "oauth2": dict(good, password="x")}),
            ("name upper case", {"name": "Billing", "app": "slack", "oauth2": good}),
            ("name leading dash", {"name": "-x", "app": "slack", "oauth2": good}),
            ("name empty", {"name": "", "app": "slack", "oauth2": good}),
            ("name 64 chars", {"name": "a" * 64, "app": "slack", "oauth2": good}),
            ("name with a space", {"name": "a b", "app": "slack", "oauth2": good}),
            ("name not a string", {"name": 5, "app": "slack", "oauth2": good}),
            ("scopes a string", {"name": "x1", "app": "slack",
                                 "oauth2": dict(good, scopes="a b")}),
            ("scopes of numbers", {"name": "x1", "app": "slack",
                                   "oauth2": dict(good, scopes=[1])}),
            ("expires_at not a time", {"name": "x1", "app": "slack",
                                       "oauth2": dict(good, expires_at="tomorrow")}),
            ("access_token a number", {"name": "x1", "app": "slack",
                                       "oauth2": dict(good, access_token=5)}),
        ] + [(f"no {key}", {"name": "x1", "app": "slack", "oauth2": without(key)})
             for key in ("token_url", "client_id", "client_secret", "refresh_token")]
        for what, body in bodies:
            with self.subTest(what):
                self.assertError(s.api("POST", "/api/v1/connections", body), 400,
                                 "invalid_request")
        self.assertEqual(self.ids(), before)

    def test_names_are_unique_per_workspace(self):
        s = self.server
        name = unique("dup")
        first = self.create(name=name)
        resp = s.api("POST", "/api/v1/connections",
                     {"name": name, "app": "slack", "oauth2": oauth2(self.provider)})
        self.assertError(resp, 409, "invalid_request")
        self.assertEqual([c for c in self.ids() if c == first["id"]], [first["id"]])
        elsewhere = s.api("POST", "/api/v1/connections",
                          {"name": name, "app": "slack", "oauth2": oauth2(self.provider)},
                          token=self.other_admin)
        self.assertStatus(elsewhere, 201)

    def test_other_workspaces_see_nothing(self):
        s = self.server
        conn = self.create()
        for method, path in [("GET", ""), ("POST", "/refresh"), ("POST", "/reconnect"),
                             ("GET", "/authorize"), ("DELETE", "")]:
            with self.subTest(f"{method} {path}"):
                body = {} if method == "POST" else None
                resp = s.api(method, f"/api/v1/connections/{conn['id']}{path}", body,
                             token=self.other_admin)
                self.assertError(resp, 404)
        listed = s.api("GET", "/api/v1/connections", token=self.other_admin).json["items"]
        self.assertNotIn(conn["id"], [c["id"] for c in listed])
        self.assertEqual(self.get(conn["id"])["status"], "active")

    def test_roles(self):
        s = self.server
        conn = self.create()
        self.assertStatus(s.api("GET", "/api/v1/connections", token=self.viewer), 200)
        self.assertError(s.api("GET", "/api/v1/connections", token=None), 401)
        before = self.ids()
        for token in (self.viewer, self.operator):
            resp = s.api("POST", "/api/v1/connections",
                         {"name": unique("nope"), "app": "slack",
                          "oauth2": oauth2(self.provider)}, token=token)
            self.assertError(resp, 403, "forbidden")
            for action in ("refresh", "reconnect"):
                self.assertError(self.post(conn["id"], action, token=token), 403, "forbidden")
            self.assertError(s.api("GET", f"/api/v1/connections/{conn['id']}/authorize",
                                   token=token), 403, "forbidden")
            self.assertError(s.api("DELETE", f"/api/v1/connections/{conn['id']}",
                                   token=token), 403, "forbidden")
        self.assertEqual(self.ids(), before)
        self.assertEqual(self.provider.stats()["token_requests"], 0)

    def test_list_pages_and_its_400s_name_the_parameter(self):
        s = self.server
        older, newer = self.create(), self.create()
        page = self.assertStatus(s.api("GET", "/api/v1/connections?limit=1"), 200)
        self.assertEqual([c["id"] for c in page["items"]], [newer["id"]])
        self.assertEqual(page["next_cursor"], newer["id"])
        page = self.assertStatus(s.api("GET", f"/api/v1/connections?limit=1&cursor={newer['id']}"),
                                 200)
        self.assertEqual([c["id"] for c in page["items"]], [older["id"]])
        for query, field in [("limit=0", "limit"), ("limit=501", "limit"), ("limit=ten", "limit"),
                             ("cursor=sch_01", "cursor"), ("cursor=run_01", "cursor"),
                             ("status=broken", "status"), ("colour=red", "colour")]:
            with self.subTest(query=query):
                err = self.assertError(s.api("GET", "/api/v1/connections?" + query), 400,
                                       "invalid_request")
                self.assertEqual(err.get("field"), field, repr(err))
                self.assertIn(field, err["message"])

    def test_idempotency_key(self):
        s = self.server
        body = {"name": unique("idem"), "app": "slack", "oauth2": oauth2(self.provider)}
        key = {"Idempotency-Key": unique("conn-key")}
        first = self.assertStatus(s.api("POST", "/api/v1/connections", body, headers=key), 201)
        again = s.api("POST", "/api/v1/connections", body, headers=key)
        self.assertEqual(self.assertStatus(again, 201)["id"], first["id"])
        self.assertError(s.api("POST", "/api/v1/connections", dict(body, app="github"),
                               headers=key), 409, "idempotency_conflict")
        self.assertEqual(len([c for c in s.list_all("/api/v1/connections")
                              if c["name"] == body["name"]]), 1)

    def test_unknown_ids_are_404(self):
        s = self.server
        for method, path in [("GET", ""), ("POST", "/refresh"), ("POST", "/reconnect"),
                             ("GET", "/authorize"), ("DELETE", "")]:
            with self.subTest(f"{method} {path}"):
                body = {} if method == "POST" else None
                self.assertError(s.api(method, f"/api/v1/connections/conn_nope{path}", body),
                                 404)

    # --- refresh and reconnect

    def test_refresh_now(self):
        s, p = self.server, self.provider
        conn = self.create()
        now = s.fake_now()
        resp = self.post(conn["id"], "refresh")
        after = self.assertStatus(resp, 200)
        self.assertConnection(after)
        self.assertEqual(after["status"], "active")
        expires = parse_time(after["expires_at"])
        self.assertLess(abs((expires - now).total_seconds() - 3600), 60, after)
        stats = p.stats()
        self.assertEqual((stats["token_requests"], stats["refresh_grants"]), (1, 1))
        self.assertEqual(stats["last_token_request"]["grant_type"], "refresh_token")
        self.assertEqual(secrets_in(resp.body, p.issued()["access_tokens"]), [])
        self.assertEqual(self.get(conn["id"]), after)

    def test_refresh_transient_failures_are_502_and_change_nothing(self):
        p = self.provider
        conn = self.create()
        for mode in ("error_500", "error_429"):
            with self.subTest(mode):
                p.set_mode(token=mode, times=1)
                self.assertError(self.post(conn["id"], "refresh"), 502, "refresh_failed")
                self.assertEqual(self.get(conn["id"]), conn)
        self.assertStatus(self.post(conn["id"], "refresh"), 200)
        self.assertEqual(p.stats()["refresh_grants"], 3)

    def test_refresh_with_nobody_listening_is_502(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            closed = f"http://127.0.0.1:{sock.getsockname()[1]}/token"
        conn = self.create(token_url=closed)
        self.assertError(self.post(conn["id"], "refresh"), 502, "refresh_failed")
        self.assertEqual(self.get(conn["id"]), conn)

    def test_refresh_without_an_answer_is_502(self):
        """The provider holds the answer (~30 s) then hangs up: whichever of its own
        timeout or the hang-up the server sees first, it is transient."""
        p = self.provider
        conn = self.create()
        p.set_mode(token="timeout", times=1)
        resp = self.server.api("POST", f"/api/v1/connections/{conn['id']}/refresh", {},
                               timeout=90)
        self.assertError(resp, 502, "refresh_failed")
        self.assertEqual(self.get(conn["id"]), conn)

    def test_refresh_permanent_failure_is_409_and_puts_the_connection_in_error(self):
        s, p = self.server, self.provider
        conn = self.create(app="github")
        dead = self.kill_refresh(conn["id"])
        self.assertEqual(dead["status"], "error")
        self.assertEqual(dead["error"]["message"], "invalid_grant: Token has been revoked")
        parse_time(dead["error"]["at"])
        self.assertIn(dead["id"], self.ids("?status=error"))
        self.assertNotIn(dead["id"], self.ids("?status=active"))
        notes = [n for n in s.api("GET", "/api/v1/notifications").json["items"]
                 if n["link"] == f"/default/connections/{conn['id']}"]
        self.assertEqual([(n["kind"], n["title"]) for n in notes],
                         [("connection_error", "Github reauth required")])
        # In error: refused without asking the provider again.
        requests = p.stats()["token_requests"]
        self.assertError(self.post(conn["id"], "refresh"), 409, "connection_needs_reauth",
                         NEEDS_REAUTH)
        self.assertEqual(p.stats()["token_requests"], requests)
        self.assertEqual(self.get(conn["id"])["status"], "error")

    def test_invalid_client_is_permanent(self):
        p = self.provider
        conn = self.create(client_secret="wrong-" + new_client_secret())
        self.assertError(self.post(conn["id"], "refresh"), 409, "connection_needs_reauth",
                         NEEDS_REAUTH)
        dead = self.get(conn["id"])
        self.assertEqual(dead["status"], "error")
        self.assertTrue(dead["error"]["message"].startswith("invalid_client"), dead)
        self.assertEqual(p.stats()["last_token_request"]["client_id"], p.client_id)

    def test_reconnect_replaces_what_is_given(self):
        s, p = self.server, self.provider
        conn = self.create()
        self.kill_refresh(conn["id"])
        self.assertError(self.post(conn["id"], "reconnect", {"oauth2": {"password": "x"}}),
                         400, "invalid_request")
        self.assertError(self.post(conn["id"], "reconnect", {"extra": 1}), 400,
                         "invalid_request")
        self.assertEqual(self.get(conn["id"])["status"], "error")
        # A new client secret alone: the refresh token the provider revoked stays.
        wrong = self.post(conn["id"], "reconnect",
                          {"oauth2": {"client_secret": "wrong-" + new_client_secret()}})
        self.assertEqual(self.assertStatus(wrong, 200)["status"], "active")
        self.assertError(self.post(conn["id"], "refresh"), 409, "connection_needs_reauth")
        self.assertEqual(p.stats()["last_token_request"]["client_id"], p.client_id)
        s.advance_clock(1000)  # the fake clock: updated_at moves only when it does
        fixed = self.post(conn["id"], "reconnect",
                          {"oauth2": {"client_secret": p.client_secret,
                                      "refresh_token": p.seed()["refresh_token"]}})
        fixed = self.assertStatus(fixed, 200)
        self.assertConnection(fixed)
        self.assertEqual((fixed["status"], fixed["error"], fixed["name"], fixed["token_url"]),
                         ("active", None, conn["name"], conn["token_url"]))
        self.assertEqual(self.assertStatus(self.post(conn["id"], "refresh"), 200)["status"],
                         "active")
        self.assertGreater(parse_time(fixed["updated_at"]), parse_time(conn["updated_at"]))

    def test_delete_and_runs_that_name_a_missing_connection(self):
        s, p = self.server, self.provider
        conn = self.create()
        wf = unique("conn-gone")
        s.put_workflow(connection_workflow(wf, conn["name"], p.api_url("gone")))
        self.assertEqual(s.api("DELETE", f"/api/v1/connections/{conn['id']}").status, 204)
        run = s.run_and_wait(wf)
        self.assertEqual(run["status"], "failed", run)
        self.assertEqual(run["error"]["code"], "connection_not_found")
        # Another workspace's connection of that name is not found either.
        theirs = unique("theirs")
        s.create_connection(theirs, oauth2(p), token=self.other_admin)
        s.put_workflow(connection_workflow(wf, theirs, p.api_url("gone")))
        self.assertEqual(s.run_and_wait(wf)["error"]["code"], "connection_not_found")
        self.assertEqual(p.stats()["api_calls"], 0)

    def test_audit(self):
        s = self.server
        conn = self.create()
        self.assertStatus(self.post(conn["id"], "refresh"), 200)
        self.kill_refresh(conn["id"])
        self.assertStatus(self.post(conn["id"], "reconnect",
                                    {"oauth2": {"refresh_token": self.provider.seed()[
                                        "refresh_token"]}}), 200)
        self.assertEqual(s.api("DELETE", f"/api/v1/connections/{conn['id']}").status, 204)
        entries = self.audit(conn["id"])
        verbs = [e["action"].rsplit(".", 1)[-1] for e in entries]
        for verb in ("create", "refresh", "error", "reconnect", "delete"):
            self.assertIn(verb, verbs, entries)
        self.assertEqual(verbs[0], "delete")
        self.assertEqual(verbs[-1], "create")
        by_verb = {e["action"].rsplit(".", 1)[-1]: e for e in entries}
        self.assertEqual(by_verb["error"]["actor"], "system")
        self.assertEqual(by_verb["create"]["actor"], by_verb["delete"]["actor"])
        self.assertTrue(all(e["target"] == conn["id"] for e in entries), entries)


if __name__ == "__main__":
    unittest.main()
