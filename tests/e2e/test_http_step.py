"""The `http` step: output {status, headers, body}, methods, JSON bodies and headers with
expressions, redirects, timeouts, and the refusal of private/loopback targets.

Redirects to a private address from a public one are not tested: that needs a public
HTTP server, which a hermetic test cannot have (every local target is itself private,
so the first hop is already refused)."""

import fcntl
import ipaddress
import socket
import struct
import sys
import unittest
import urllib.request

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


# The ranges the server refuses whatever its interfaces (IsPrivateAddress): an own
# address in one of them would not show that own addresses are refused.
_RANGES_REFUSED_ANYWAY = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.0.0.0/24", "192.168.0.0/16", "198.18.0.0/15", "224.0.0.0/4",
    "240.0.0.0/4", "::/96", "fc00::/7", "fe80::/10", "ff00::/8", "64:ff9b::/96",
    "2002::/16")]


def own_addresses():
    """This host's interface addresses: IPv4 (SIOCGIFADDR per interface) and IPv6
    (/proc/net/if_inet6)."""
    found = []
    for _, name in socket.if_nameindex():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            try:
                packed = fcntl.ioctl(sock.fileno(), 0x8915,  # SIOCGIFADDR
                                     struct.pack("256s", name[:15].encode()))
            except OSError:
                continue
            found.append(ipaddress.ip_address(packed[20:24]))
    try:
        with open("/proc/net/if_inet6") as f:
            for line in f:
                found.append(ipaddress.ip_address(bytes.fromhex(line.split()[0])))
    except OSError:
        pass
    return found


class OwnAddressTest(E2ETestCase):
    """A server without --allow-private-targets refuses the host's own addresses, also
    those outside the private ranges (a service bound to 0.0.0.0 answers on them)."""

    @classmethod
    def setUpClass(cls):
        cls.target = cls.start_target(bind="0.0.0.0")
        cls.server = cls.start_server()

    def test_own_public_address_is_refused(self):
        candidates = [a for a in own_addresses() if a.version == 4
                      and not any(a in net for net in _RANGES_REFUSED_ANYWAY)]
        if not candidates:
            reason = ("this host has no IPv4 interface address outside the private ranges "
                      f"(it has {[str(a) for a in own_addresses()]})")
            print(f"skipped: {reason}", file=sys.stderr)
            self.skipTest(reason)
        s, t = self.server, self.target
        path = t.route("/own-address", body={"called": True})
        url = f"http://{candidates[0]}:{t.port}{path}"
        # The target answers there: only the guard keeps the step from it.
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with direct.open(url, timeout=10) as resp:
            self.assertEqual(resp.status, 200)
        reached = t.hits(path)
        s.put_workflow({"id": "own-addr", "steps": [http_step("h", url, timeout="30s")]})
        done = s.run_and_wait("own-addr", timeout=10)
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["error"]["code"], "target_not_allowed", done["error"])
        self.assertEqual(t.hits(path), reached, "the server's own address was called")


if __name__ == "__main__":
    unittest.main()
