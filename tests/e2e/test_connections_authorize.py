"""Connections, part two: the authorization-code flow with PKCE (GET
/api/v1/connections/{id}/authorize → the fake provider → /oauth/callback), and secrets at
rest: absent from every answer, the database files and the server log (raw bytes), the
key file, and `stepwell secrets rotate`."""

import base64
import hashlib
import os
import re
import signal
import stat
import subprocess
import unittest
from urllib.parse import urlsplit

from harness import E2ETestCase, TERMINAL, find_step, scaled, store_paths
from oauth_helpers import (NEEDS_REAUTH, connection_workflow, fetch, new_client_secret,
                           oauth2, query_of, secrets_in, unique)

CALLBACK_PAGE = re.compile(r"text/html", re.IGNORECASE)


class AuthorizeFlowTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.provider = cls.start_oauth_provider(client_secret=new_client_secret())
        cls.server = cls.start_server(fake_clock=True, allow_private_targets=True)
        cls.viewer = cls.server.create_token("viewer", "vic")["token"]

    def setUp(self):
        self.provider.reset()

    # --- helpers

    def create(self, **fields):
        p = self.provider
        fields.setdefault("authorize_url", p.authorize_url)
        return self.server.create_connection(unique("oauth"), oauth2(p, **fields))

    def dead(self, **fields):
        """A connection in `error`."""
        conn = self.create(**fields)
        self.provider.set_mode(token="invalid_grant", times=1)
        resp = self.server.api("POST", f"/api/v1/connections/{conn['id']}/refresh", {})
        self.assertError(resp, 409, "connection_needs_reauth", NEEDS_REAUTH)
        return conn

    def get(self, conn_id):
        return self.server.api("GET", f"/api/v1/connections/{conn_id}").json

    def start_flow(self, conn_id, **kwargs):
        """GET .../authorize → the Location (the provider's authorize URL) and its query."""
        resp = self.server.api("GET", f"/api/v1/connections/{conn_id}/authorize", **kwargs)
        self.assertEqual(resp.status, 302, resp)
        location = resp.headers["Location"]
        return location, query_of(location)

    def consent(self, location):
        """The provider's answer to the authorize URL: the callback URL it redirects to."""
        resp = fetch(location)
        self.assertEqual(resp.status, 302, resp)
        return resp.headers["Location"]

    def callback(self, url):
        """GET the callback on the server (no token), path and query of `url`."""
        parts = urlsplit(url)
        return self.server.api("GET", f"{parts.path}?{parts.query}", token=None)

    def assertCallbackPage(self, resp, status=400):
        self.assertEqual(resp.status, status, resp)
        self.assertRegex(resp.headers.get("Content-Type") or "", CALLBACK_PAGE)

    # --- the flow

    def test_authorize_redirects_to_the_provider_with_pkce(self):
        s, p = self.server, self.provider
        conn = self.create(scopes=["read", "write"])
        location, query = self.start_flow(conn["id"])
        self.assertTrue(location.startswith(p.authorize_url + "?"), location)
        self.assertEqual(set(query), {"response_type", "client_id", "redirect_uri", "state",
                                      "code_challenge", "code_challenge_method", "scope"})
        self.assertEqual(query["response_type"], "code")
        self.assertEqual(query["client_id"], p.client_id)
        self.assertEqual(query["redirect_uri"], f"http://{s.host}:{s.port}/oauth/callback")
        self.assertEqual(query["code_challenge_method"], "S256")
        self.assertRegex(query["code_challenge"], r"^[A-Za-z0-9_-]{43}$")  # SHA-256, base64url
        self.assertGreaterEqual(len(query["state"]), 16)
        self.assertEqual(query["scope"], "read write")
        _, again = self.start_flow(conn["id"])
        self.assertNotEqual(again["state"], query["state"])
        self.assertNotEqual(again["code_challenge"], query["code_challenge"])
        self.assertNotIn("scope", self.start_flow(self.create()["id"])[1])

    def test_callback_sets_the_connection_active_and_wakes_its_runs(self):
        s, p = self.server, self.provider
        conn = self.dead()
        wf = unique("oauth-agent")
        s.put_workflow(connection_workflow(wf, conn["name"], p.api_url("after-callback"),
                                           mode="agent"))
        held = s.wait_for(s.start_run(wf)["id"],
                          lambda r: (r["wait"] or {}).get("kind") == "reauth",
                          desc="a reauth wait")
        grants = p.stats()["refresh_grants"]  # the one that failed
        location, query = self.start_flow(conn["id"])
        back = self.consent(location)
        self.assertEqual(urlsplit(back).path, "/oauth/callback")
        self.assertEqual(query_of(back)["state"], query["state"])
        resp = self.callback(back)
        self.assertEqual(resp.status, 303, resp)
        target = urlsplit(resp.headers["Location"])
        self.assertEqual((target.path, target.query),
                         (f"/default/connections/{conn['id']}", "reconnected=1"))
        after = self.get(conn["id"])
        self.assertEqual((after["status"], after["error"]), ("active", None))
        stats = p.stats()
        self.assertEqual(stats["code_grants"], 1)
        last = stats["last_token_request"]
        self.assertEqual((last["grant_type"], last["redirect_uri"]),
                         ("authorization_code", query["redirect_uri"]))
        # The code grant gave an access token: the run calls with it, no refresh.
        done = s.wait_status(held["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(find_step(done, "call")["output"]["status"], 200)
        self.assertEqual(p.stats()["refresh_grants"], grants)
        # The state is one use.
        self.assertCallbackPage(self.callback(back))
        self.assertEqual(p.stats()["code_grants"], 1)

    def test_the_provider_checks_the_verifier(self):
        """A code issued for one flow's challenge, returned with another flow's state: the
        server sends that flow's verifier, the provider refuses it, nothing changes."""
        s, p = self.server, self.provider
        conn = self.dead()
        first, _ = self.start_flow(conn["id"])
        _, second = self.start_flow(conn["id"])
        code = query_of(self.consent(first))["code"]
        resp = s.api("GET", f"/oauth/callback?code={code}&state={second['state']}", token=None)
        self.assertIn(resp.status, (400, 502), resp)
        self.assertEqual(p.stats()["code_grants"], 1)
        self.assertEqual(self.get(conn["id"])["status"], "error")

    def test_callback_refusals(self):
        s, p = self.server, self.provider
        conn = self.dead()
        self.assertCallbackPage(s.api("GET", "/oauth/callback?code=x&state=nope", token=None))
        self.assertCallbackPage(s.api("GET", "/oauth/callback", token=None))
        # The provider says no: a page naming the error, and the connection stays.
        p.set_mode(deny_authorize=True)
        location, _ = self.start_flow(conn["id"])
        denied = self.callback(self.consent(location))
        self.assertCallbackPage(denied)
        self.assertIn("access_denied", denied.text)
        p.set_mode(deny_authorize=False)
        # A state older than 10 minutes.
        location, _ = self.start_flow(conn["id"])
        back = self.consent(location)
        s.advance_clock(10 * 60 * 1000 + 1000)
        self.assertCallbackPage(self.callback(back))
        self.assertEqual(p.stats()["code_grants"], 0)
        self.assertEqual(self.get(conn["id"])["status"], "error")

    def test_authorize_refusals_and_the_session_cookie(self):
        s = self.server
        conn = self.create()
        plain = s.create_connection(unique("plain"), oauth2(self.provider))
        self.assertError(s.api("GET", f"/api/v1/connections/{plain['id']}/authorize"), 400,
                         "invalid_request")
        self.assertError(s.api("GET", f"/api/v1/connections/{conn['id']}/authorize",
                               token=None), 401)
        self.assertError(s.api("GET", f"/api/v1/connections/{conn['id']}/authorize",
                               token=self.viewer), 403, "forbidden")
        resp = s.api("POST", "/api/v1/session", {"token": s.admin_token}, token=None)
        self.assertEqual(resp.status, 204, resp)
        cookie = "; ".join(c.split(";")[0] for c in resp.headers.get_all("Set-Cookie"))
        location, _ = self.start_flow(conn["id"], token=None, headers={"Cookie": cookie})
        self.assertTrue(location.startswith(self.provider.authorize_url), location)

    def test_public_url_names_the_callback(self):
        p = self.provider
        s = self.start_test_server(allow_private_targets=True,
                                   extra_args=["--public-url", "https://sw.example.test"])
        conn = s.create_connection("pub", oauth2(p, authorize_url=p.authorize_url))
        resp = s.api("GET", f"/api/v1/connections/{conn['id']}/authorize")
        self.assertEqual(resp.status, 302, resp)
        self.assertEqual(query_of(resp.headers["Location"])["redirect_uri"],
                         "https://sw.example.test/oauth/callback")


class SecretsAtRestTest(E2ETestCase):
    """Every secret the server was given or obtained, looked for in the raw bytes of
    every answer, every file of the data directory but the key (and of the PostgreSQL
    cluster, when the store is there), and the server log."""

    @classmethod
    def setUpClass(cls):
        cls.provider = cls.start_oauth_provider(client_secret=new_client_secret())
        cls.server = cls.start_server(allow_private_targets=True)

    def secrets(self):
        issued = self.provider.issued()
        return ([self.provider.client_secret, *self.extra_secrets]
                + issued["refresh_tokens"] + issued["access_tokens"])

    def data_files(self):
        # On PostgreSQL the store's files are the cluster's: its heap and its WAL.
        for top in store_paths(self.server):
            for root, _, files in os.walk(top):
                for name in files:
                    if name != "secret.key":
                        yield os.path.join(root, name)

    def assertNoSecretsOnDisk(self, when):
        candidates = self.secrets()
        for path in self.data_files():
            with open(path, "rb") as f:
                data = f.read()
            with self.subTest(when=when, file=os.path.basename(path)):
                self.assertEqual(secrets_in(data, candidates), [])

    def exercise(self):
        """Every way a secret reaches the server; returns the raw answers."""
        s, p = self.server, self.provider
        answers = []
        p.set_mode(rotate=True)
        seeded = p.seed()
        body = oauth2(p, refresh_token=seeded["refresh_token"],
                      access_token=seeded["access_token"], authorize_url=p.authorize_url)
        made = s.api("POST", "/api/v1/connections",
                     {"name": "vault", "app": "slack", "oauth2": body})
        answers.append(made)
        conn = made.json
        path = f"/api/v1/connections/{conn['id']}"
        answers.append(s.api("POST", f"{path}/refresh", {}))
        s.put_workflow(connection_workflow("vault-call", "vault", p.api_url("vault")))
        run = s.run_and_wait("vault-call")
        self.assertEqual(run["status"], "completed", run)
        answers.append(s.api("GET", f"/api/v1/runs/{run['id']}"))
        answers.append(s.api("POST", f"{path}/reconnect",
                             {"oauth2": {"refresh_token": p.seed()["refresh_token"]}}))
        location = s.api("GET", f"{path}/authorize").headers["Location"]
        back = urlsplit(fetch(location).headers["Location"])
        answers.append(s.api("GET", f"{back.path}?{back.query}", token=None))
        # A wrong client secret, then the error it causes.
        wrong = "wrong-" + new_client_secret()
        self.extra_secrets.append(wrong)
        answers.append(s.api("POST", f"{path}/reconnect", {"oauth2": {"client_secret": wrong}}))
        answers.append(s.api("POST", f"{path}/refresh", {}))
        for read in (path, "/api/v1/connections", f"/api/v1/audit?target={conn['id']}",
                     "/api/v1/notifications", "/api/v1/runs"):
            answers.append(s.api("GET", read))
        answers.append(s.api("GET", "/metrics", token=s.metrics_token))
        return answers

    def test_secrets_are_nowhere(self):
        self.extra_secrets = []
        answers = self.exercise()
        candidates = self.secrets()
        self.assertGreaterEqual(len(candidates), 8)
        for resp in answers:
            self.assertEqual(secrets_in(resp.body, candidates), [], resp)
        self.assertNoSecretsOnDisk("running")
        with open(self.server.log_path, "rb") as f:
            self.assertEqual(secrets_in(f.read(), candidates), [])
        # After a kill -9 the WAL is as the last commit left it.
        self.server.restart()
        self.assertNoSecretsOnDisk("after kill -9")
        key = os.path.join(self.server.data_dir, "secret.key")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        with open(self.server.log_path, "rb") as f:
            self.assertEqual(secrets_in(f.read(), candidates), [])

    def test_authorization_codes_are_not_logged(self):
        """Beyond the contract's three secrets: a code is a credential until used."""
        s, p = self.server, self.provider
        conn = s.create_connection("coded", oauth2(p, authorize_url=p.authorize_url))
        location = s.api("GET", f"/api/v1/connections/{conn['id']}/authorize")
        back = urlsplit(fetch(location.headers["Location"]).headers["Location"])
        self.assertEqual(s.api("GET", f"{back.path}?{back.query}", token=None).status, 303)
        with open(s.log_path, "rb") as f:
            self.assertEqual(secrets_in(f.read(), p.issued()["codes"]), [])

    def test_rotate_the_key(self):
        s, p = self.server, self.provider
        conn = s.create_connection("rotated", oauth2(p))
        key_path = os.path.join(s.data_dir, "secret.key")
        with open(key_path, "rb") as f:
            old_key = f.read()
        s.kill(signal.SIGTERM)
        try:
            proc = subprocess.run([s.binary, "secrets", "rotate", "--data-dir", s.data_dir],
                                  capture_output=True, text=True, timeout=scaled(60),
                                  env=s.env)
        finally:
            s.start()
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        with open(key_path, "rb") as f:
            self.assertNotEqual(f.read(), old_key)
        self.assertEqual(stat.S_IMODE(os.stat(key_path).st_mode), 0o600)
        resp = s.api("POST", f"/api/v1/connections/{conn['id']}/refresh", {})
        self.assertEqual(resp.status, 200, resp)  # the refresh token decrypted
        self.extra_secrets = []
        self.assertNoSecretsOnDisk("after rotation")


class SecretKeyFromEnvironmentTest(E2ETestCase):
    def test_key_from_the_environment(self):
        provider = self.start_oauth_provider()
        env = {"STEPWELL_SECRET_KEY": hashlib.sha256(b"e2e").hexdigest()}
        s = self.start_test_server(allow_private_targets=True, env=env)
        conn = s.create_connection("env-key", oauth2(provider))
        s.restart()
        resp = s.api("POST", f"/api/v1/connections/{conn['id']}/refresh", {})
        self.assertEqual(resp.status, 200, resp)
        key64 = base64.b64encode(hashlib.sha256(b"e2e-b64").digest()).decode()
        s2 = self.start_test_server(allow_private_targets=True,
                                    env={"STEPWELL_SECRET_KEY": key64})
        conn = s2.create_connection("b64-key", oauth2(provider))
        s2.restart()
        self.assertEqual(
            s2.api("POST", f"/api/v1/connections/{conn['id']}/refresh", {}).status, 200)


if __name__ == "__main__":
    unittest.main()
