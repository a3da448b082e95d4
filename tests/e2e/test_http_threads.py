"""HTTP threads: one slow request must not stall other clients.

Every connection is served by one I/O thread (dealt in turn), so a handler must not
wait long on its thread: one that did would stall every connection dealt to that
thread, and every new connection if that thread also accepted them. So a script's
`http` steps (POST /workflows/{id}/invoke) are awaited off the I/O threads, and the
acceptor has a thread of its own.
"""

import threading
import time
import unittest

from harness import E2ETestCase, scaled

HTTP_THREADS = 4


class HttpThreadsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server(allow_private_targets=True,
                                      extra_args=("--http-threads", str(HTTP_THREADS)))
        cls.target = cls.start_target()

    def test_slow_script_invoke_does_not_stall_other_connections(self):
        s, target = self.server, self.target
        slow = target.route(target.unique_path("slow"), body={"ok": True}, block=True)
        s.put_workflow({"id": "slow-script", "kind": "script", "steps": [
            {"id": "call", "type": "http", "with": {"method": "GET", "url": target.url(slow)}}]})

        answers = []
        invoke = threading.Thread(
            target=lambda: answers.append(
                s.api("POST", "/api/v1/workflows/slow-script/invoke", {})))
        invoke.start()
        try:
            # From here the invoke waits for the target.
            target.wait_for_request(slow)
            # Fresh connections, one after another: dealt round-robin, one in every
            # HTTP_THREADS lands on the waiting thread, or none is accepted at all when the
            # waiting thread is the acceptor's.
            stalled = []
            for i in range(HTTP_THREADS + 1):
                started = time.monotonic()
                try:
                    resp = s.request("GET", "/healthz", token=None, timeout=3)
                    self.assertEqual(resp.status, 200)
                except OSError as e:  # socket.timeout
                    stalled.append((i, f"{type(e).__name__} after "
                                       f"{time.monotonic() - started:.1f}s"))
                    break
            self.assertEqual(stalled, [], "GET /healthz on a fresh connection was not "
                             "answered while another connection's script invoke waited")
        finally:
            target.release(slow)
            invoke.join(scaled(30))
        self.assertEqual(len(answers), 1)
        self.assertEqual(answers[0].status, 200, answers[0])


if __name__ == "__main__":
    unittest.main()
