"""Pieces of the local HTTP targets the workloads call (bench/run.py's SlowTarget,
bench/pg.py's TakeoverTarget): serving a handler class on a free port, holding a request
until its caller hangs up, answering JSON, and waiting on a target's condition.

Standard library only. Thread-safe as far as the targets' own state is guarded by their
condition variables; each request runs on its own daemon thread.
"""

import select
import socket
import threading
import time
from http.server import ThreadingHTTPServer


class LocalServer:
    """`handler_cls` served on 127.0.0.1 at a free port (`port`) until close()."""

    def __init__(self, handler_cls):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def hold_until_hangup(sock, end, stop=None):
    """Holds a request's connection until `end` (time.monotonic) or `stop` is set; True
    when the caller hung up first. Pipelined bytes from the caller are ignored."""
    while time.monotonic() < end and not (stop is not None and stop.is_set()):
        readable, _, _ = select.select([sock], [], [], min(0.2, max(0.0, end - time.monotonic())))
        if not readable:
            continue
        try:
            gone = not sock.recv(1, socket.MSG_PEEK)
        except OSError:
            gone = True
        if gone:
            return True
        time.sleep(0.001)
    return False


def answer_json(handler, body):
    """A 200 with `body` (bytes of JSON); a caller that went away meanwhile is ignored."""
    try:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
    except OSError:
        pass


def wait_on(cond, pred, timeout, stop=None):
    """Waits on `cond` (a threading.Condition, taken here) until pred() holds, `timeout`
    seconds pass or `stop` is set; answers pred()'s last value."""
    end = time.monotonic() + timeout
    with cond:
        while True:
            value = pred()
            if value or time.monotonic() >= end or (stop is not None and stop.is_set()):
                return value
            cond.wait(timeout=min(0.05, max(0.0, end - time.monotonic())))
