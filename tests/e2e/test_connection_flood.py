"""Connection floods: idle connections up to and past the connection cap, and past the
server's descriptor limit, neither stop /healthz and authenticated requests from being
answered nor make the acceptor spin; at the cap the oldest idle connection makes room;
connections that send nothing, or headers too slowly, are closed after the header
timeout, kept-alive ones after the idle timeout.

CPU is read from /proc/PID/stat (utime + stime) over one second of flood.
"""

import http.client
import os
import socket
import time
import unittest

from harness import E2ETestCase, scaled, wait_until

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# A server that waits, as it should under an idle flood, uses next to nothing; one
# that retries a failing accept at once uses a whole core.
MAX_CPU_SHARE = 0.25


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the command: state is field 3; utime and stime are fields 14 and 15.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_share_over_one_second(pid):
    before, start = cpu_seconds(pid), time.monotonic()
    time.sleep(1.0)
    return (cpu_seconds(pid) - before) / (time.monotonic() - start)


def settled_cpu_share(pid, samples=3):
    """The lowest share of a core over up to `samples` one-second windows, stopping at the
    first under MAX_CPU_SHARE: a server still busy with the flood's last connections
    (seconds under a sanitizer) settles, one that spins never does."""
    lowest = 1.0
    for _ in range(samples):
        lowest = min(lowest, cpu_share_over_one_second(pid))
        if lowest < MAX_CPU_SHARE:
            break
    return lowest


def descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def closed_by_server(sock, timeout):
    """True when the server closes `sock` within `timeout` seconds (reads until EOF)."""
    sock.settimeout(scaled(timeout))
    try:
        while sock.recv(4096):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class ConnectionFloodTest(E2ETestCase):
    def flood(self, s, count):
        """`count` connections that send nothing, closed at the end of the test."""
        socks = []
        self.addCleanup(lambda: [sock.close() for sock in socks])
        for _ in range(count):
            socks.append(socket.create_connection((s.host, s.port), timeout=scaled(10)))
        return socks

    def assert_still_serving(self, s):
        health = s.request("GET", "/healthz", token=None, timeout=10)
        self.assertEqual(health.status, 200, health)
        listed = s.request("GET", "/api/v1/workflows", timeout=10)
        self.assertEqual(listed.status, 200, listed)
        unauthenticated = s.request("GET", "/api/v1/workflows", token=None, timeout=10)
        self.assertEqual(unauthenticated.status, 401, unauthenticated)

    def test_flood_past_the_descriptor_limit(self):
        fd_limit = 256
        s = self.start_test_server(fd_limit=fd_limit)
        socks = self.flood(s, 2 * fd_limit)
        # The server takes what the cap allows and leaves the rest in the backlog.
        wait_until(lambda: descriptors(s.proc.pid) > 64, timeout=10,
                   desc="the server to accept the flood")
        share = settled_cpu_share(s.proc.pid)
        self.assertLess(share, MAX_CPU_SHARE, f"the server used {share:.0%} of a core")
        self.assert_still_serving(s)
        # Room is left below the limit for the store and step work.
        self.assertLess(descriptors(s.proc.pid), fd_limit - 32)
        self.assertTrue(s.running())
        self.assertEqual(len(socks), 2 * fd_limit)

    def test_at_the_cap_the_oldest_idle_connection_makes_room(self):
        cap = 16
        s = self.start_test_server(extra_args=["--max-connections", str(cap)])
        base = descriptors(s.proc.pid)
        first = self.flood(s, 1)[0]
        wait_until(lambda: descriptors(s.proc.pid) > base, timeout=10,
                   desc="the first connection to be accepted")
        self.flood(s, 3 * cap)
        self.assert_still_serving(s)
        self.assertTrue(closed_by_server(first, 10), "the oldest idle connection stayed open")
        share = settled_cpu_share(s.proc.pid)
        self.assertLess(share, MAX_CPU_SHARE, f"the server used {share:.0%} of a core")
        # Every I/O thread may have opened its poller (3 descriptors) meanwhile.
        self.assertLessEqual(descriptors(s.proc.pid), base + cap + 3 * 33)

    def test_a_keep_alive_client_survives_an_idle_flood(self):
        cap = 8
        s = self.start_test_server(extra_args=["--max-connections", str(cap)])
        conn = http.client.HTTPConnection(s.host, s.port, timeout=scaled(10))
        self.addCleanup(conn.close)
        headers = {"Authorization": f"Bearer {s.admin_token}"}
        for _ in range(3):
            self.flood(s, 2 * cap)
            # An evicted keep-alive connection is closed between requests, which a client
            # sees as the end of the connection and retries on a new one.
            try:
                conn.request("GET", "/api/v1/workflows", headers=headers)
                resp = conn.getresponse()
            except (http.client.RemoteDisconnected, ConnectionError):
                conn.close()
                conn.request("GET", "/api/v1/workflows", headers=headers)
                resp = conn.getresponse()
            resp.read()
            self.assertEqual(resp.status, 200)


class SlowClientTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server(extra_args=["--header-timeout", "1s",
                                                  "--idle-timeout", "2s"])

    def connect(self):
        sock = socket.create_connection((self.server.host, self.server.port),
                                        timeout=scaled(10))
        self.addCleanup(sock.close)
        return sock

    def test_silent_connection_is_closed_after_the_header_timeout(self):
        sock = self.connect()
        start = time.monotonic()
        self.assertTrue(closed_by_server(sock, 10))
        self.assertGreaterEqual(time.monotonic() - start, 0.9)

    def test_slow_headers_are_closed_after_the_header_timeout(self):
        sock = self.connect()
        start = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        # One more header line every 0.4 s never completes the request in time.
        deadline = start + scaled(10)
        closed = False
        while time.monotonic() < deadline and not closed:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            sock.settimeout(0.4)
            try:
                closed = sock.recv(4096) == b""
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed = True
        self.assertTrue(closed, "the slow request was not cut off")
        self.assertLess(time.monotonic() - start, scaled(5))

    def test_idle_keep_alive_connection_is_closed_after_the_idle_timeout(self):
        sock = self.connect()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        self.assertEqual(resp.status, 200)
        resp.read()
        start = time.monotonic()
        self.assertTrue(closed_by_server(sock, 10))
        self.assertGreaterEqual(time.monotonic() - start, 1.9)

    def test_request_within_the_timeouts_is_answered(self):
        sock = self.connect()
        for part in (b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n", b"\r\n"):
            sock.sendall(part)
            time.sleep(0.2)
        resp = http.client.HTTPResponse(sock)
        resp.begin()
        self.assertEqual(resp.status, 200)


if __name__ == "__main__":
    unittest.main()
