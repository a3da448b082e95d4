"""The `http` step: output {status, headers, body}, methods, JSON bodies and headers with
expressions, redirects, timeouts, and the refusal of private/loopback targets.

Redirects to a private address from a public one are not tested: that needs a public
HTTP server, which a hermetic test cannot have (every local target is itself private,
so the first hop is already refused)."""

import socket
import unittest

from harness import E2ETestCase, TERMINAL, find_step, http_step, noop


def header(headers, name):
    """Case-insensitive lookup in an output's `headers` object."""
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


class HttpStepTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = cls.start_target()
        # --fake-clock: the step timeout test advances the fake clock as well as waiting
        # (bounded) in real time, so it passes whichever clock times the attempt.
        cls.server = cls.start_server(allow_private_targets=True, fake_clock=True)

    def test_get_json(self):
        s, t = self.server, self.target
        path = t.route(t.unique_path("json"), body={"hello": "world", "n": 1},
                       headers={"X-Reply": "yes"})
        s.put_workflow({"id": "hs-get", "steps": [
            http_step("h", t.url(path), headers={"Accept": "application/json"}),
            noop("after", "${{ steps.h.output.body.hello }}")]})
        run = s.run_and_wait("hs-get")
        self.assertEqual(run["status"], "completed", run)
        out = find_step(run, "h")["output"]
        self.assertEqual(set(out), {"status", "headers", "body"})
        self.assertEqual(out["status"], 200)
        self.assertEqual(out["body"], {"hello": "world", "n": 1})
        self.assertEqual(header(out["headers"], "X-Reply"), "yes")
        self.assertTrue(header(out["headers"], "Content-Type").startswith("application/json"))
        self.assertEqual(run["output"], "world")
        reqs = t.requests(path)
        self.assertEqual(len(reqs), 1)
        self.assertEqual(reqs[0]["method"], "GET")
        self.assertEqual(reqs[0]["headers"].get("accept"), "application/json")

    def test_text_body_stays_a_string(self):
        s, t = self.server, self.target
        path = t.route(t.unique_path("text"), raw="plain text here", content_type="text/plain")
        s.put_workflow({"id": "hs-text", "steps": [http_step("h", t.url(path))]})
        run = s.run_and_wait("hs-text")
        self.assertEqual(run["status"], "completed", run)
        self.assertEqual(run["output"]["status"], 200)
        self.assertEqual(run["output"]["body"], "plain text here")

    def test_post_json_body_and_headers(self):
        s, t = self.server, self.target
        path = t.route(t.unique_path("post"), status=201, body={"created": True})
        s.put_workflow({"id": "hs-post", "steps": [
            http_step("h", t.url(path) + "?q=${{ input.q }}", method="POST",
                      headers={"X-Custom": "${{ input.h }}", "X-Fixed": "f"},
                      body={"a": "${{ input.a }}", "fixed": [1, 2], "s": "${{ input.h }}"})]})
        run = s.run_and_wait("hs-post", {"q": "z", "h": "hv", "a": 5})
        self.assertEqual(run["status"], "completed", run)
        self.assertEqual(run["output"]["status"], 201)
        self.assertEqual(run["output"]["body"], {"created": True})
        req = t.wait_for_request(path)
        self.assertEqual(req["method"], "POST")
        self.assertEqual(req["query"], "q=z")
        self.assertEqual(req["headers"].get("x-custom"), "hv")
        self.assertEqual(req["headers"].get("x-fixed"), "f")
        self.assertTrue(req["headers"].get("content-type", "").startswith("application/json"),
                        req["headers"])
        self.assertEqual(req["json"], {"a": 5, "fixed": [1, 2], "s": "hv"})

    def test_other_methods(self):
        s, t = self.server, self.target
        for method in ("PUT", "PATCH", "DELETE"):
            with self.subTest(method=method):
                path = t.route(t.unique_path(f"m-{method.lower()}"), body={"m": method})
                wf = f"hs-method-{method.lower()}"
                s.put_workflow({"id": wf, "steps": [http_step("h", t.url(path), method=method)]})
                run = s.run_and_wait(wf)
                self.assertEqual(run["status"], "completed", run)
                self.assertEqual(run["output"]["body"], {"m": method})
                self.assertEqual(t.wait_for_request(path)["method"], method)

    def test_redirect_is_followed(self):
        s, t = self.server, self.target
        final = t.route(t.unique_path("final"), body={"arrived": True})
        start = t.route(t.unique_path("redir"), status=302, redirect_to=t.url(final))
        s.put_workflow({"id": "hs-redirect", "steps": [http_step("h", t.url(start))]})
        run = s.run_and_wait("hs-redirect")
        self.assertEqual(run["status"], "completed", run)
        self.assertEqual(run["output"]["status"], 200)
        self.assertEqual(run["output"]["body"], {"arrived": True})
        self.assertEqual((t.hits(start), t.hits(final)), (1, 1))

    def test_timeout_fails_the_step(self):
        s, t = self.server, self.target
        path = t.route(t.unique_path("slow"), block=True)
        self.addCleanup(t.release, path)
        s.put_workflow({"id": "hs-timeout", "steps": [
            http_step("h", t.url(path), timeout="1s"), noop("after", "never")]})
        run = s.start_run("hs-timeout")
        t.wait_for_request(path)
        s.advance_clock(2000)
        done = s.wait_status(run["id"], *TERMINAL, timeout=15)
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["error"]["step_id"], "h")
        self.assertTrue(done["error"]["message"])
        self.assertEqual(find_step(done, "h")["status"], "failed")
        self.assertEqual(find_step(done, "after")["status"], "pending")
        t.wait_for_hangup(path, timeout=5)

    def test_connection_refused_fails_the_step(self):
        s = self.server
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        s.put_workflow({"id": "hs-refused", "steps": [
            http_step("h", f"http://127.0.0.1:{port}/nothing", timeout="5s")]})
        done = s.run_and_wait("hs-refused", timeout=20)
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["error"]["step_id"], "h")
        self.assertNotEqual(done["error"].get("code"), "target_not_allowed")


class PrivateTargetsTest(E2ETestCase):
    """A server without --allow-private-targets refuses private destinations."""

    @classmethod
    def setUpClass(cls):
        cls.target = cls.start_target()
        cls.server = cls.start_server()

    def test_private_targets_are_refused(self):
        s, t = self.server, self.target
        path = t.route("/must-not-be-called", body={"called": True})
        port = t.port
        urls = [
            t.url(path),
            f"http://localhost:{port}{path}",
            f"http://127.0.0.2:{port}{path}",
            f"http://0.0.0.0:{port}{path}",  # reaches loopback on Linux
            f"http://[::1]:{port}{path}",
            f"http://[::ffff:127.0.0.1]:{port}{path}",  # IPv4-mapped loopback
            "http://10.255.255.1/x",
            "http://172.16.0.1/x",
            "http://192.168.0.1/x",
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00::1]/x",
            "http://[fe80::1]/x",
        ]
        for i, url in enumerate(urls):
            with self.subTest(url=url):
                wf = f"pt-{i}"
                s.put_workflow({"id": wf, "steps": [http_step("h", url, timeout="30s"),
                                                    noop("after", 1)]})
                # Refused before connecting: a refused step fails fast, long before
                # its 30 s timeout (10.x would otherwise hang).
                done = s.run_and_wait(wf, timeout=10)
                self.assertEqual(done["status"], "failed", done)
                self.assertEqual(done["error"]["code"], "target_not_allowed", done["error"])
                self.assertEqual(done["error"]["step_id"], "h")
                self.assertEqual(find_step(done, "h")["status"], "failed")
                self.assertEqual(find_step(done, "after")["status"], "pending")
        self.assertEqual(t.hits(path), 0, "a private target was called")


if __name__ == "__main__":
    unittest.main()
