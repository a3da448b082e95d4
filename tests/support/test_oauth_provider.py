"""Checks the fake OAuth provider itself (tests/support/oauth_provider.py)."""

import base64
import http.client
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import unittest
from urllib.parse import parse_qs, urlencode, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import oauth_provider  # noqa: E402
from oauth_provider import OAuthProvider  # noqa: E402

CLIENT = {"client_id": oauth_provider.DEFAULT_CLIENT_ID,
          "client_secret": oauth_provider.DEFAULT_CLIENT_SECRET}


class ProviderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.p = OAuthProvider().start()

    @classmethod
    def tearDownClass(cls):
        cls.p.stop()

    def setUp(self):
        self.p.reset()

    def request(self, method, path, *, form=None, body=None, headers=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.p.port, timeout=timeout)
        headers = dict(headers or {})
        data = None
        if form is not None:
            data = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            return resp.status, resp.headers, (json.loads(raw) if raw else None)
        finally:
            conn.close()

    def token(self, **form):
        return self.request("POST", "/token", form=form)

    def api(self, access, path="/api/things/1", method="GET"):
        headers = {"Authorization": f"Bearer {access}"} if access else {}
        return self.request(method, path, headers=headers)

    def test_seed_refresh_and_api(self):
        seeded = self.p.seed()
        self.assertEqual(self.api(seeded["access_token"])[0], 200)
        status, _, body = self.token(grant_type="refresh_token",
                                     refresh_token=seeded["refresh_token"], **CLIENT)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["token_type"], "Bearer")
        self.assertNotIn("refresh_token", body)
        status, _, answer = self.api(body["access_token"], "/api/x/y", "POST")
        self.assertEqual((status, answer), (200, {"ok": True, "path": "/api/x/y",
                                                  "method": "POST"}))
        self.assertEqual(self.api("nope")[0], 401)
        self.assertEqual(self.api(None)[0], 401)
        stats = self.p.stats()
        self.assertEqual((stats["token_requests"], stats["refresh_grants"],
                          stats["api_calls"], stats["api_unauthorized"]), (1, 1, 4, 2))
        last = stats["last_token_request"]
        self.assertEqual(last["grant_type"], "refresh_token")
        for secret_field in ("client_secret", "refresh_token"):
            self.assertNotIn(secret_field, last)

    def test_client_auth_basic_and_bad_client(self):
        seeded = self.p.seed()
        basic = base64.b64encode(
            f"{CLIENT['client_id']}:{CLIENT['client_secret']}".encode()).decode()
        status, _, _ = self.request(
            "POST", "/token", form={"grant_type": "refresh_token",
                                    "refresh_token": seeded["refresh_token"]},
            headers={"Authorization": f"Basic {basic}"})
        self.assertEqual(status, 200)
        status, _, body = self.token(grant_type="refresh_token",
                                     refresh_token=seeded["refresh_token"],
                                     client_id=CLIENT["client_id"], client_secret="wrong")
        self.assertEqual((status, body), (401, {"error": "invalid_client"}))

    def test_rotation_and_revocation(self):
        seeded = self.p.seed()
        self.p.set_mode(rotate=True)
        _, _, first = self.token(grant_type="refresh_token",
                                 refresh_token=seeded["refresh_token"], **CLIENT)
        self.assertIn("refresh_token", first)
        status, _, body = self.token(grant_type="refresh_token",
                                     refresh_token=seeded["refresh_token"], **CLIENT)
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))
        status, _, second = self.token(grant_type="refresh_token",
                                       refresh_token=first["refresh_token"], **CLIENT)
        self.assertEqual(status, 200)
        self.request("POST", "/_control/revoke", body={"access": True})
        self.assertEqual(self.api(second["access_token"])[0], 401)
        self.request("POST", "/_control/revoke", body={"refresh": True})
        status, _, body = self.token(grant_type="refresh_token",
                                     refresh_token=second["refresh_token"], **CLIENT)
        self.assertEqual(status, 400)
        self.assertEqual(body["error_description"], "Token has been revoked")

    def test_modes_with_times(self):
        seeded = self.p.seed()
        form = dict(grant_type="refresh_token", refresh_token=seeded["refresh_token"],
                    **CLIENT)
        self.request("POST", "/_control/mode", body={"token": "error_500", "times": 1})
        self.assertEqual(self.token(**form)[0], 500)
        self.assertEqual(self.token(**form)[0], 200)
        self.p.set_mode(token="error_429", times=2)
        self.assertEqual(self.token(**form)[0], 429)
        self.assertEqual(self.token(**form)[0], 429)
        self.assertEqual(self.token(**form)[0], 200)
        self.p.set_mode(token="invalid_client")
        self.assertEqual(self.token(**form)[0], 401)
        self.assertEqual(self.token(**form)[0], 401)
        self.p.set_mode(token="invalid_grant", expires_in=5)
        status, _, body = self.token(**form)
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))
        self.p.set_mode(token="ok")
        self.assertEqual(self.token(**form)[2]["expires_in"], 5)
        status, _, body = self.request("POST", "/_control/mode", body={"token": "bogus"})
        self.assertEqual(status, 400)

    def test_timeout_held_until_reset(self):
        seeded = self.p.seed()
        self.p.set_mode(token="timeout")
        outcome = {}

        def call():
            try:
                outcome["answer"] = self.token(grant_type="refresh_token",
                                               refresh_token=seeded["refresh_token"],
                                               **CLIENT)
            except (http.client.HTTPException, OSError) as err:
                outcome["error"] = err

        thread = threading.Thread(target=call)
        thread.start()
        thread.join(0.3)
        self.assertTrue(thread.is_alive())
        self.p.reset()
        thread.join(5)
        self.assertFalse(thread.is_alive())
        self.assertIn("error", outcome)

    def test_hold_until_release(self):
        seeded = self.p.seed()
        self.p.set_mode(hold=True, token="invalid_grant", times=1)
        outcome = {}

        def call():
            outcome["answer"] = self.token(grant_type="refresh_token",
                                           refresh_token=seeded["refresh_token"], **CLIENT)

        thread = threading.Thread(target=call)
        thread.start()
        deadline = time.monotonic() + 10
        while self.p.stats()["held"] != 1:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.01)
        self.p.set_mode(token="ok")  # the answer is the mode at release time
        status, _, body = self.request("POST", "/_control/release")
        self.assertEqual((status, body["hold"]), (200, False))
        thread.join(10)
        self.assertEqual(outcome["answer"][0], 200)
        self.assertEqual(self.p.stats()["held"], 0)
        issued = self.p.issued()
        self.assertIn(seeded["refresh_token"], issued["refresh_tokens"])
        self.assertIn(outcome["answer"][2]["access_token"], issued["access_tokens"])

    def authorize(self, verifier, state="st1", redirect="http://127.0.0.1:1/oauth/callback"):
        query = urlencode({"response_type": "code", "client_id": CLIENT["client_id"],
                           "redirect_uri": redirect, "state": state,
                           "code_challenge": oauth_provider.s256(verifier),
                           "code_challenge_method": "S256", "scope": "a b"})
        status, headers, _ = self.request("GET", "/authorize?" + query)
        self.assertEqual(status, 302)
        location = urlsplit(headers["Location"])
        return location, {k: v[0] for k, v in parse_qs(location.query).items()}

    def test_authorization_code_with_pkce(self):
        verifier = secrets.token_urlsafe(48)
        redirect = "http://127.0.0.1:1/oauth/callback"
        location, params = self.authorize(verifier)
        self.assertEqual(location.path, "/oauth/callback")
        self.assertEqual(params["state"], "st1")
        grant = dict(grant_type="authorization_code", code=params["code"],
                     redirect_uri=redirect, code_verifier=verifier, **CLIENT)
        status, _, body = self.token(**grant)
        self.assertEqual(status, 200, body)
        self.assertIn("refresh_token", body)
        self.assertEqual(self.token(**grant)[0], 400)  # one use
        _, params = self.authorize(verifier)
        status, _, body = self.token(**dict(grant, code=params["code"],
                                            code_verifier=verifier + "x"))
        self.assertEqual((status, body["error"]), (400, "invalid_grant"))
        _, params = self.authorize(verifier)
        status, _, body = self.token(**dict(grant, code=params["code"],
                                            redirect_uri=redirect + "2"))
        self.assertEqual(status, 400)
        self.p.set_mode(deny_authorize=True)
        _, params = self.authorize(verifier, state="st2")
        self.assertEqual(params, {"error": "access_denied", "state": "st2"})
        self.assertEqual(self.p.stats()["code_grants"], 4)


class ProcessTest(unittest.TestCase):
    def test_runs_as_a_process(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "oauth_provider.py")
        proc = subprocess.Popen([sys.executable, script, "--port", "0"],
                                stdout=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            self.assertRegex(line, r"^READY \d+\n$")
            port = int(line.split()[1])
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST", "/_control/seed")
            body = json.loads(conn.getresponse().read())
            self.assertTrue(body["refresh_token"])
            conn.close()
        finally:
            proc.kill()
            proc.wait(timeout=10)
            proc.stdout.close()


if __name__ == "__main__":
    unittest.main()
