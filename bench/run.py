#!/usr/bin/env python3
"""Stepwell benchmark driver: the workloads W1-W6 (and W4x) of ../shared/WORKLOADS.md, and
W7 (reauth holds released by one reconnect) of issue 13.

Standard library only (Python 3.11). For every workload repetition it starts the real
server (`build/stepwell serve`) on a fresh temporary data directory bound to 127.0.0.1,
applies the workflow kinds of WORKLOADS.md, drives the public HTTP API with persistent
keep-alive connections, and stops the server again. Bulk requests ("up to K
outstanding") go through one thread multiplexing K non-blocking connections (selectors,
epoll), so that the driver takes as little CPU from the server as it can. Every loop is
bounded in count and time; every process it starts is stopped, also on error and Ctrl-C.

    python3 bench/run.py                          # all workloads, twice each
    python3 bench/run.py --workload W1,W3a --repeat 1
    python3 bench/run.py --workload W4x --w4x-n 20000 --repeat 1

Results: one JSON file per invocation in bench/results/, and a table on stdout with the
peers' figures and our targets beside ours. See bench/README.md for the fields.
"""

import argparse
import calendar
import datetime
import hashlib
import json
import math
import os
import re
import resource
import secrets
import select
import selectors
import shutil
import signal
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pg
from http_target import LocalServer, answer_json, hold_until_hangup, wait_on
from procfs import each_process, read_stat

REPO = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO / "bench" / "results"
TERMINAL = ("completed", "failed", "cancelled")
ALL_WORKLOADS = ("W1", "W2", "W2x10k", "W2s", "W3a", "W3b", "W4", "W5", "W6", "W7", "W8", "W9",
                 "W12", "W11", "W4x", "W10", "takeover")  # W4x, W10 last of SQLite's: long
# `--store postgres` without --workload: W1-W5 and the takeover of a killed instance.
PG_DEFAULT_WORKLOADS = ("W1", "W2", "W3a", "W3b", "W4", "W5", "takeover")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024

# Bounds (seconds) that do not depend on the workload size.
SERVER_START_TIMEOUT = 20.0
SERVER_STOP_TIMEOUT = 15.0
REQUEST_TIMEOUT = 70.0  # > the longest long-poll (wait_ms <= 60000)

STOP = threading.Event()  # set on Ctrl-C / SIGTERM: every driver loop checks it


class Aborted(Exception):
    pass


def check_stop():
    if STOP.is_set():
        raise Aborted("interrupted")


# --------------------------------------------------------------------------- peers

# From WORKLOADS.md ("Where the others stand, and our targets").
PEERS = [
    # (workload, metric, OpenWorkflow, DBOS, Restate, target)
    ("W1", "p50 / p99 ms", "82 / 111", "6.5 / 17.8", "9.7 / 24.1", "<= 1.2x2 fsync / <= 1"),
    ("W2", "steps/s", "747", "818", "1,598", ">= 20,000"),
    ("W2x10k", "steps/s", "-", "-", "-", ">= 20,000"),
    ("W2s", "steps/s, spend counted", "-", "-", "-", "W2 within noise"),
    ("W3a", "p50 / p99 ms", "1.3 / 6.9", "2.9 / 10.1", "18.5 / 72", "<= 1.5 fsync / <= 0.8"),
    ("W3b", "interrupted after cancel", "never (30 s)", "~1,000 ms", "61-63 ms", "<= 10 ms"),
    ("W4", "10k parked / cancel all", "80 s / 3.4 s", "21.6 s / 2.9 s", "21.5 s / 13.9 s",
     "<= 3 s / <= 2 s"),
    ("W4", "memory added by 10k parked", "+92 MiB", "+145 MiB", "+671 MiB", "<= +30 MiB"),
    ("W9", "10k parked: one bulk cancel", "-", "-", "-", "<= 0.5 s"),
    ("W5", "lateness p50 / p99 ms", "6,503 / 6,666", "618 / 982", "139 / 386",
     "<= 5 / <= 25, 0 early"),
    ("W6", "decide->completed p50/p99 ms", "-", "-", "-", "<= 2 / <= 10"),
    ("W6", "memory added by 10k parked", "-", "-", "-", "<= +30 MiB"),
    ("W7", "reconnect->running p99; refreshes", "-", "-", "-", "<= 1 s; 1"),
    ("W4x", "100k parked: restart / memory", "-", "-", "-", "<= 5 s / <= +150 MiB"),
    ("W8", "runaway: past limit / to paused_safety", "-", "-", "-", "0 / <= 10 ms"),
    ("W12", "W1, W3a p99 under >= 25k steps/s", "-", "-", "-", "<= 5 ms"),
]
# WORKLOADS.md's fdatasync on this kind of machine; the W1/W3a targets use the measured
# one when the invocation measured the disk.
W_NOMINAL_FDATASYNC_MS = 0.2
W8_LIMIT = 1000  # max_steps_per_minute of the runaway loop
W8_ITERATIONS = 100000
W4X_RESTART_TARGET_S = 5.0
W9_N = 10000  # parked runs cancelled by the one bulk operation
W9_TARGET_S = 0.5
W4X_MIB_PER_100K = 150.0  # memory target for 100,000 parked runs (scaled for --w4x-n)
W6_PARKED = 10000  # approvals parked for the memory figure
W6_DECIDED = 1000  # of those, decided one at a time
W6_MAX_GETS = 1000  # polls of one run after its decision (with a 5 s bound)
W7_HELD = 10000  # agent-mode runs held on one connection
W7_P99_TARGET_MS = 1000.0
W7_CONNECTION = "w7-api"
OAUTH_PROVIDER = REPO / "tests" / "support" / "oauth_provider.py"

# --------------------------------------------------------------------------- definitions


def noop(step_id, value):
    return {"id": step_id, "type": "noop", "with": {"value": value}}


def definitions(target_url=None):
    defs = {
        "noop1": {"id": "noop1", "steps": [noop("s0", {"ok": True})]},
        "steps10": {"id": "steps10",
                    "steps": [noop(f"s{i}", {"step": i, "v": "ok"}) for i in range(10)]},
        "sleep1h": {"id": "sleep1h",
                    "steps": [{"id": "nap", "type": "sleep", "with": {"duration": "1h"}}]},
        "timer2s": {"id": "timer2s", "steps": [
            noop("t0", {"t": 0}),
            {"id": "nap", "type": "sleep", "with": {"duration": "2s"}},
            noop("t1", {"t": 1})]},
        # Defaults: operators (and admins) decide, one approval needed, expires in 24 h.
        "approval1": {"id": "approval1", "steps": [
            {"id": "gate", "type": "approval", "with": {"message": "Go ahead?"}},
            noop("after", {"ok": True})]},
    }
    if target_url:
        # The target answers after 30 s; the step's own timeout (default 30 s) is raised
        # so that only a cancel can end it early.
        defs["busy"] = {"id": "busy", "steps": [
            {"id": "call", "type": "http", "timeout": "90s",
             "with": {"method": "GET", "url": target_url}}]}
    return defs


BUSY_SHELL = {"id": "busy-shell", "steps": [
    {"id": "call", "type": "shell", "timeout": "90s", "with": {"argv": ["sleep", "30"]}}]}

# --------------------------------------------------------------------------- stats


def nearest_rank(sorted_values, p):
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def summary(values, digits=3):
    """n, min, p50, p90, p99, max, mean (nearest-rank percentiles)."""
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return {"n": 0}
    r = lambda x: round(x, digits)  # noqa: E731
    return {"n": len(vals), "min": r(vals[0]), "p50": r(nearest_rank(vals, 50)),
            "p90": r(nearest_rank(vals, 90)), "p99": r(nearest_rank(vals, 99)),
            "max": r(vals[-1]), "mean": r(statistics.fmean(vals))}


TIME_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$")


def rfc3339_ms(text):
    """RFC 3339 UTC ('...T10:00:00.123Z') -> integer epoch milliseconds."""
    m = TIME_RE.match(text or "")
    if not m:
        raise ValueError(f"bad timestamp {text!r}")
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    frac = (m.group(7) or "0")[:3].ljust(3, "0")
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 1000 + int(frac)


def utc_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# --------------------------------------------------------------------------- /proc


def loadavg():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def machine_busy_jiffies():
    with open("/proc/stat") as f:
        parts = f.readline().split()
    # cpu user nice system idle iowait irq softirq steal guest guest_nice
    v = [int(x) for x in parts[1:]]
    v += [0] * (10 - len(v))
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]  # guest time is inside user


def proc_jiffies(pid, children=False):
    """utime+stime of a process (all its threads); plus reaped children's if asked."""
    stat = read_stat(f"/proc/{pid}/stat")
    if stat is None:
        return 0
    rest = stat[1]
    total = int(rest[11]) + int(rest[12])
    if children:
        total += int(rest[13]) + int(rest[14])
    return total


def memory(pid):
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    out[line.split(":")[0].lower() + "_kib"] = int(line.split()[1])
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["pss_kib"] = int(line.split()[1])
    except OSError:
        pass
    return out


def thread_jiffies(pid):
    """{tid: (thread name, utime+stime)} for every thread of a process."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        stat = read_stat(f"/proc/{pid}/task/{tid}/stat")
        if stat is not None:
            name, rest = stat
            out[tid] = (name, int(rest[11]) + int(rest[12]))
    return out


def phase_cpu_start(server_pid):
    return (time.perf_counter(), machine_busy_jiffies(), proc_jiffies(server_pid, True),
            proc_jiffies(os.getpid()), server_pid, thread_jiffies(server_pid))


def phase_cpu_end(snap):
    t, m, s, d, pid, threads0 = snap
    dt = time.perf_counter() - t
    threads = []
    for tid, (name, j) in thread_jiffies(pid).items():
        used = (j - threads0.get(tid, (name, 0))[1]) / CLK_TCK
        if used > 0:
            threads.append((f"{name}/{tid}", round(used, 2)))
    threads.sort(key=lambda x: -x[1])
    sv = (proc_jiffies(pid, True) - s) / CLK_TCK
    dr = (proc_jiffies(os.getpid()) - d) / CLK_TCK
    mb = (machine_busy_jiffies() - m) / CLK_TCK
    return {"elapsed_s": round(dt, 3), "server_cpu_s": round(sv, 2), "driver_cpu_s": round(dr, 2),
            "other_cpu_s": round(max(0.0, mb - sv - dr), 2),
            "server_cores": round(sv / dt, 2) if dt else None,
            "driver_cores": round(dr / dt, 2) if dt else None,
            "server_threads_cpu_s": threads[:8]}


class CpuWindow:
    """CPU time used by the server, the driver and everything else over a window."""

    def __init__(self, server):
        self.server = server  # a Server: its CPU includes processes before a restart
        self.t0 = time.monotonic()
        self.machine0 = machine_busy_jiffies()
        self.server0 = server.cpu_jiffies()
        self.driver0 = proc_jiffies(os.getpid())
        self.load0 = loadavg()

    def finish(self):
        elapsed = time.monotonic() - self.t0
        machine = machine_busy_jiffies() - self.machine0
        server = self.server.cpu_jiffies() - self.server0
        driver = proc_jiffies(os.getpid()) - self.driver0
        return {
            "elapsed_s": round(elapsed, 3),
            "cpus": os.cpu_count(),
            "machine_busy_cpu_s": round(machine / CLK_TCK, 2),
            "server_cpu_s": round(server / CLK_TCK, 2),
            "driver_cpu_s": round(driver / CLK_TCK, 2),
            "other_processes_cpu_s": round(max(0, machine - server - driver) / CLK_TCK, 2),
            "loadavg_start": self.load0,
            "loadavg_end": loadavg(),
        }


# --------------------------------------------------------------------------- HTTP client
#
# Raw sockets and minimal HTTP/1.1, no http.client: the server always answers with a
# Content-Length body (or closes the connection after a body without one, when it says
# `Connection: close`). Two clients share the request encoder and the response reader:
#   Conn     one blocking keep-alive connection, for sequential calls;
#   run_mux  one thread, a selectors (epoll) loop over up to K keep-alive connections with
#            at most one request in flight on each (= "up to K outstanding"), for bulk calls.

DRIVER = "selectors"  # recorded in the result file
MAX_HEAD_BYTES = 65536
RECV_BYTES = 262144
# Counters of the current workload repetition (single-threaded use only; reset in main).
DRIVER_STATS = {"connections": 0, "reconnects": 0, "bulk_requests": 0, "sequential_requests": 0}


class ProtocolError(ConnectionError):
    """The answer is not HTTP/1.1 as this client reads it."""


def encode_request(host, port, token, method, path, body=None):
    """-> the request's bytes: request line, Host, Authorization (if token), Content-Type
    (if a body) and Content-Length. body: None, bytes (JSON already), or a JSON value."""
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    if body is None:
        data = b""
        if method in ("POST", "PUT", "PATCH"):
            head += "Content-Length: 0\r\n"
    else:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        head += f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
    return (head + "\r\n").encode("latin-1") + data


def parse_head(buf, end):
    """Status line and headers in buf[:end] -> (status, content length or None,
    connection closes after this answer, content type)."""
    lines = bytes(buf[:end]).split(b"\r\n")
    first = lines[0].split(b" ", 2)
    if len(first) < 2 or not first[0].startswith(b"HTTP/1."):
        raise ProtocolError(f"bad status line {lines[0][:80]!r}")
    try:
        status = int(first[1])
    except ValueError:
        raise ProtocolError(f"bad status line {lines[0][:80]!r}") from None
    length, ctype = None, ""
    close = first[0] == b"HTTP/1.0"
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep:
            raise ProtocolError(f"bad header line {line[:80]!r}")
        name = name.strip().lower()
        if name == b"content-length":
            try:
                length = int(value)
            except ValueError:
                raise ProtocolError(f"bad Content-Length {value[:40]!r}") from None
        elif name == b"connection":
            v = value.strip().lower()
            close = v == b"close" or (close and v != b"keep-alive")
        elif name == b"content-type":
            ctype = value.strip().decode("latin-1")
        elif name == b"transfer-encoding" and value.strip().lower() != b"identity":
            raise ProtocolError(f"Transfer-Encoding {value.strip()[:40]!r} not supported")
    if length is None and (100 <= status < 200 or status in (204, 304)):
        length = 0
    if length is None and not close:
        raise ProtocolError("answer without Content-Length on a keep-alive connection")
    return status, length, close, ctype


class Reader:
    """Reads one answer at a time from the bytes of a connection."""

    __slots__ = ("buf", "head")

    def __init__(self):
        self.buf = b""
        self.head = None  # (status, length, close, ctype, body start) once the head is in

    def reset(self):
        self.buf = b""
        self.head = None

    def feed(self, data):
        """Add received bytes (b"" = the end of the stream). -> (status, content type,
        body bytes, close) once the answer is complete, else None. Raises ConnectionError
        (ProtocolError) when the stream ends early or is not understood."""
        if data:
            if not self.buf:
                self.buf = data
            else:
                if not isinstance(self.buf, bytearray):
                    self.buf = bytearray(self.buf)
                self.buf += data
        buf = self.buf
        if self.head is None:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if not data:
                    raise ConnectionError("connection closed before the answer" if not buf
                                          else "connection closed inside the answer's head")
                if len(buf) > MAX_HEAD_BYTES:
                    raise ProtocolError("answer head too long")
                return None
            self.head = parse_head(buf, end) + (end + 4,)
        status, length, close, ctype, start = self.head
        have = len(buf) - start
        if length is None:  # body until the end of the stream (Connection: close)
            if data:
                return None
        elif have < length:
            if not data:
                raise ConnectionError("connection closed inside the answer's body")
            return None
        elif have > length:
            raise ProtocolError("more bytes than the answer's Content-Length")
        body = bytes(buf[start:]) if start or isinstance(buf, bytearray) else buf
        self.reset()
        return status, ctype, body, close


def decode_body(ctype, body):
    """Body bytes -> parsed JSON (JSON content type), text, or None (empty)."""
    if not body:
        return None
    if "json" in ctype:
        return json.loads(body)
    return body.decode("utf-8", "replace")


class Conn:
    """One persistent keep-alive connection for sequential calls (one per thread)."""

    def __init__(self, host, port, token, timeout=REQUEST_TIMEOUT):
        self.host, self.port, self.token, self.timeout = host, port, token, timeout
        self.sock = None
        self.reader = Reader()
        self.reconnects = 0

    def _connect(self):
        s = socket.create_connection((self.host, self.port), timeout=min(self.timeout, 10.0))
        try:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            # Blocking mode (no poll() before every recv) with kernel time limits instead.
            s.settimeout(None)
            tv = struct.pack("ll", int(self.timeout), 0)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, tv)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, tv)
        except OSError:
            s.close()
            raise
        self.sock = s
        self.reader.reset()
        DRIVER_STATS["connections"] += 1

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.reader.reset()

    def request_raw(self, method, path, body=None, retry=None, auth=True):
        """-> (status, content type, body bytes). Retries once on a broken connection only
        for requests that are safe to repeat (GET, or retry=True)."""
        if retry is None:
            retry = method == "GET"
        data = encode_request(self.host, self.port, self.token if auth else None, method, path, body)
        DRIVER_STATS["sequential_requests"] += 1
        for attempt in (0, 1):
            if self.sock is None:
                self._connect()
                if attempt:
                    self.reconnects += 1
                    DRIVER_STATS["reconnects"] += 1
            try:
                self.sock.sendall(data)
                end = time.monotonic() + self.timeout
                for _ in range(1 << 20):  # bounded: each recv returns bytes, EOF or times out
                    try:
                        chunk = self.sock.recv(RECV_BYTES)
                    except BlockingIOError:  # SO_RCVTIMEO expired
                        raise TimeoutError(f"no answer within {self.timeout} s") from None
                    r = self.reader.feed(chunk)
                    if r is not None:
                        break
                    if time.monotonic() > end:
                        raise TimeoutError(f"no complete answer within {self.timeout} s")
                else:
                    raise ProtocolError("answer too long")
                status, ctype, raw, close = r
                if close:
                    self.close()
                return status, ctype, raw
            except OSError:
                self.close()
                if attempt or not retry:
                    raise
        raise AssertionError("unreachable")

    def request(self, method, path, body=None, retry=None, auth=True):
        """-> (status, parsed JSON or text or None); retries as request_raw."""
        status, ctype, raw = self.request_raw(method, path, body, retry, auth)
        return status, decode_body(ctype, raw)


class _Slot:
    """One connection of run_mux and the request in flight on it."""

    __slots__ = ("sock", "addr", "item", "req", "out", "t0", "attempt", "reader")

    def __init__(self, addr):
        self.sock = None
        self.addr = addr
        self.item = None  # index of the item in flight, or None when idle
        self.req = None
        self.out = None  # unsent rest of req (memoryview) while the socket is not writable
        self.t0 = 0.0
        self.attempt = 0
        self.reader = Reader()


def run_mux(server, items, encode, handle, k, deadline, retry=False):
    """Send the request encode(item) (bytes) for every item over up to k keep-alive
    connections (TCP_NODELAY), at most one request in flight on each, from this one thread
    (selectors: epoll). handle(item, status, content type, body bytes, seconds) makes the
    item's result; seconds run from just before the send to the whole answer. Returns a
    list aligned with items: handle's result, or the exception (connection, protocol,
    time-out, or raised by handle), or None if the deadline (time.monotonic) or a stop came
    before the item was sent. A broken connection is retried once on a new one only when
    retry is set (the request is safe to repeat). Raises Aborted on STOP."""
    n = len(items)
    results = [None] * n
    if n == 0:
        return results
    addresses = server.addresses  # slot i talks to addresses[i % len]: spread over instances
    READ, WRITE = selectors.EVENT_READ, selectors.EVENT_WRITE
    perf = time.perf_counter
    sel = selectors.DefaultSelector()
    slots = [_Slot(addresses[i % len(addresses)]) for i in range(max(1, min(k, n)))]
    nxt = 0
    inflight = 0

    def close_slot(s):
        if s.sock is not None:
            try:
                sel.unregister(s.sock)
            except (KeyError, ValueError):
                pass
            s.sock.close()
            s.sock = None
        s.out = None
        s.reader.reset()

    def send(s):
        """Send s.req, connecting first if needed. Raises OSError."""
        if s.sock is None:
            sock = socket.create_connection(s.addr, timeout=10.0)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                sock.setblocking(False)
                sel.register(sock, READ, s)
            except (OSError, ValueError):
                sock.close()
                raise
            s.sock = sock
            DRIVER_STATS["connections"] += 1
        try:
            sent = s.sock.send(s.req)
        except BlockingIOError:
            sent = 0
        if sent < len(s.req):
            s.out = memoryview(s.req)[sent:]
            sel.modify(s.sock, READ | WRITE, s)

    def finish(s, result):
        nonlocal inflight
        results[s.item] = result
        s.item = s.req = None
        inflight -= 1

    def broken(s, exc):
        """s's connection broke with its request in flight: resend once on a new
        connection if allowed, else record exc. -> True if resent."""
        close_slot(s)
        if retry and s.attempt == 0:
            s.attempt = 1
            DRIVER_STATS["reconnects"] += 1
            try:
                send(s)
                return True
            except OSError as e:
                close_slot(s)
                exc = e
        finish(s, exc)
        return False

    def start_next(s):
        """Put the next item in flight on slot s (an item whose send fails at once is
        recorded and the one after it taken); leaves s idle when none is left, at the
        deadline or on a stop."""
        nonlocal nxt, inflight
        while nxt < n and not STOP.is_set() and time.monotonic() < deadline:
            i = nxt
            nxt += 1
            try:
                req = encode(items[i])
            except Exception as e:  # noqa: BLE001 - recorded per item
                results[i] = e
                continue
            s.item, s.req, s.attempt = i, req, 0
            inflight += 1
            DRIVER_STATS["bulk_requests"] += 1
            s.t0 = perf()
            try:
                send(s)
                return
            except OSError as e:
                if broken(s, e):
                    return

    def on_event(s, mask):
        if mask & WRITE and s.out is not None:
            try:
                sent = s.sock.send(s.out)
            except BlockingIOError:
                sent = 0
            except OSError as e:
                if not broken(s, e):
                    start_next(s)
                return
            if sent < len(s.out):
                s.out = s.out[sent:]
            else:
                s.out = None
                sel.modify(s.sock, READ, s)
        if not mask & READ or s.sock is None:
            return
        try:
            data = s.sock.recv(RECV_BYTES)
        except BlockingIOError:
            return
        except OSError as e:
            data = e
        if s.item is None:  # idle keep-alive connection: closed by the server (or junk)
            close_slot(s)
            return
        if isinstance(data, OSError):
            exc = data
        else:
            try:
                r = s.reader.feed(data)
            except OSError as e:
                exc = e
            else:
                if r is None:
                    return
                dt = perf() - s.t0
                status, ctype, body, close = r
                if close:
                    close_slot(s)
                try:
                    res = handle(items[s.item], status, ctype, body, dt)
                except Exception as e:  # noqa: BLE001 - recorded per item
                    res = e
                finish(s, res)
                start_next(s)
                return
        if not broken(s, exc):
            start_next(s)

    try:
        for s in slots:
            start_next(s)
        hard_end = deadline + REQUEST_TIMEOUT + 5
        last_scan = time.monotonic()
        while inflight > 0:
            check_stop()
            for key, mask in sel.select(0.2):
                on_event(key.data, mask)
            now = time.monotonic()
            if now - last_scan >= 1.0:
                last_scan = now
                t = perf()
                for s in slots:
                    if s.item is not None and t - s.t0 > REQUEST_TIMEOUT:
                        close_slot(s)
                        finish(s, TimeoutError(f"no answer within {REQUEST_TIMEOUT} s"))
                        start_next(s)
                if now > hard_end:
                    raise TimeoutError("bulk requests did not finish")
    finally:
        for s in slots:
            close_slot(s)
        sel.close()
    return results


# --------------------------------------------------------------------------- processes

_LIVE = []  # (Popen) started by us; stopped on exit


def _pdeathsig():
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort
        pass


def stop_process(proc, timeout=SERVER_STOP_TIMEOUT):
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        except OSError:
            pass
    if proc in _LIVE:
        _LIVE.remove(proc)


def stop_all():
    for proc in list(_LIVE):
        stop_process(proc, timeout=5)


class Server:
    """`stepwell serve` on a fresh temporary data directory, 127.0.0.1, port 0."""

    def __init__(self, binary, tmp_root, flags=(), keep=False, store=None, env=None,
                 token=None):
        self.binary = os.path.abspath(binary)
        self.keep = keep
        self.store = store  # a postgresql:// URL, or None for DIR/stepwell.db
        self.extra_env = dict(env or {})
        self.data_dir = tempfile.mkdtemp(prefix="stepwell-bench-", dir=tmp_root)
        self.token = token or "sw_" + secrets.token_urlsafe(32)
        self.log_path = os.path.join(self.data_dir, "server.log")
        self.listen_file = os.path.join(self.data_dir, "listen-address")
        self.flags = list(flags)
        self.retired_cpu_s = 0.0  # CPU of earlier processes of this server (restarts)
        self.log = open(self.log_path, "ab")
        try:
            self._spawn()
        except OSError:
            self.log.close()
            shutil.rmtree(self.data_dir, ignore_errors=True)
            raise
        try:
            self._await_listening()
        except BaseException:
            self.stop()
            raise

    def _spawn(self):
        env = dict(os.environ)
        # Only read on the first start (it creates the workspace); the token stays valid.
        env["STEPWELL_ADMIN_TOKEN"] = self.token
        env.update(self.extra_env)
        # The driver polls /metrics on loopback without a token.
        args = [self.binary, "serve", "--data-dir", self.data_dir, "--listen", "127.0.0.1:0",
                "--public-metrics", *self.flags]
        if self.store:
            args += ["--store", self.store]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env, cwd=self.data_dir,
                                     preexec_fn=_pdeathsig)
        _LIVE.append(self.proc)
        self.pid = self.proc.pid

    def _await_listening(self, poll=0.01):
        """Wait for DIR/listen-address, then for /healthz to answer 200.
        Sets startup_s (until the address) and healthz_s (until 200), from now."""
        t0 = time.monotonic()
        addr = None
        while time.monotonic() - t0 < SERVER_START_TIMEOUT:
            check_stop()
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                with open(self.listen_file) as f:
                    content = f.read()
                if content.endswith("\n") and content.strip():
                    addr = content.strip()
                    break
            except FileNotFoundError:
                pass
            time.sleep(poll)
        if addr is None:
            raise RuntimeError(f"no listen-address within {SERVER_START_TIMEOUT} s")
        host, port = addr.rsplit(":", 1)
        if host != "127.0.0.1":
            raise RuntimeError(f"server listens on {addr}, expected 127.0.0.1")
        self.host, self.port = host, int(port)
        self.startup_s = time.monotonic() - t0
        status = None
        while time.monotonic() - t0 < SERVER_START_TIMEOUT:
            check_stop()
            c = self.conn()
            try:
                status, _, _ = c.request_raw("GET", "/healthz", auth=False)
            except OSError:
                status = None
            finally:
                c.close()
            if status == 200:
                self.healthz_s = time.monotonic() - t0
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            time.sleep(poll)
        raise RuntimeError(f"/healthz answered {status}, not 200 within {SERVER_START_TIMEOUT} s")

    def _stop_process(self):
        """SIGTERM, wait for the exit (SIGKILL after SERVER_STOP_TIMEOUT); keeps its CPU."""
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        stop_process(self.proc)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if self.proc.returncode is not None:
            self.retired_cpu_s += (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
        return self.proc.returncode

    def restart(self):
        """Stop the server (SIGTERM, wait for the exit) and start it again on the same data
        directory (new port). -> timings; t_spawn (perf_counter) is just before the spawn."""
        t0 = time.perf_counter()
        rc = self._stop_process()
        t1 = time.perf_counter()
        if self.proc.poll() is None:
            raise RuntimeError("server did not exit")
        try:
            os.unlink(self.listen_file)  # stale: the new process writes its own
        except FileNotFoundError:
            pass
        old_pid = self.pid
        t_spawn = time.perf_counter()
        self._spawn()
        self._await_listening(poll=0.002)
        t_up = time.perf_counter()
        return {"old_pid": old_pid, "new_pid": self.pid, "exit_code": rc,
                "sigterm_to_exit_s": round(t1 - t0, 3),
                "spawn_to_listen_address_s": round(self.startup_s, 3),
                "spawn_to_healthz_s": round(t_up - t_spawn, 3), "t_spawn": t_spawn}

    def cpu_jiffies(self):
        """utime+stime of the server process (+ reaped children), including earlier
        processes of this server (before restarts)."""
        return proc_jiffies(self.pid, children=True) + round(self.retired_cpu_s * CLK_TCK)

    def conn(self, instance=0):
        """A connection; `instance` picks one of several (bench/pg.py) and is ignored here."""
        return Conn(self.host, self.port, self.token)

    @property
    def addresses(self):
        return [(self.host, self.port)]

    def encode(self, method, path, body=None, auth=True):
        """Request bytes for run_mux."""
        return encode_request(self.host, self.port, self.token if auth else None, method, path, body)

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(lines[-n:])
        except OSError:
            return ""

    def log_problems(self, limit=20):
        """Log lines that look like errors or warnings (count and the first few)."""
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return {"count": 0, "lines": []}
        bad = [ln for ln in lines
               if re.search(r"\b(error|warn|warning|critical|fatal|abort)\b", ln, re.I)]
        return {"count": len(bad), "lines": bad[:limit]}

    def data_dir_bytes(self):
        total = 0
        for root, _, files in os.walk(self.data_dir):
            for name in files:
                try:
                    total += os.path.getsize(os.path.join(root, name))
                except OSError:
                    pass
        return total

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self._stop_process()
        try:
            self.log.close()
        except OSError:
            pass
        rc = self.proc.returncode
        if not self.keep:
            shutil.rmtree(self.data_dir, ignore_errors=True)
        return rc


# --------------------------------------------------------------------------- server helpers

METRIC_RE = re.compile(r'^stepwell_runs\{status="(\w+)"\} (\d+)$', re.M)
METRIC_SCALAR_RE = re.compile(r"^(stepwell_[a-z_]+) ([0-9.eE+-]+)$", re.M)


def metrics(conn):
    status, text = conn.request("GET", "/metrics", auth=False)
    if status != 200 or not isinstance(text, str):
        raise RuntimeError(f"/metrics answered {status}")
    runs = {m.group(1): int(m.group(2)) for m in METRIC_RE.finditer(text)}
    scalars = {m.group(1): float(m.group(2)) for m in METRIC_SCALAR_RE.finditer(text)}
    return runs, scalars


def commit_stats(before, after):
    """Store commit counters from /metrics, as deltas over a phase."""
    def d(name):
        return after.get(name, 0) - before.get(name, 0)
    commits = d("stepwell_store_commits_total")
    changes = d("stepwell_commit_batch_size_sum")
    return {"store_commits": int(commits), "steps_committed": int(d("stepwell_steps_committed_total")),
            "changes_committed": int(changes),
            "mean_batch_size": round(changes / commits, 2) if commits else None,
            "timer_lag_ms_max": after.get("stepwell_timer_lag_ms_max")}


def apply_definitions(server, defs):
    c = server.conn()
    try:
        for wf, d in defs.items():
            status, body = c.request("PUT", f"/api/v1/workflows/{wf}", d, retry=True)
            if status not in (200, 201):
                raise RuntimeError(f"PUT workflow {wf} -> {status} {body}")
    finally:
        c.close()


def start_run(conn, wf, inp=None):
    """POST start; -> (run id or None, seconds, status code, body: the run as the start
    answered it, or the error)."""
    t0 = time.perf_counter()
    status, body = conn.request("POST", f"/api/v1/workflows/{wf}/runs", {"input": inp or {}},
                                retry=False)
    dt = time.perf_counter() - t0
    if status != 201 or not isinstance(body, dict) or "id" not in body:
        return None, dt, status, body
    return body["id"], dt, status, body


def start_many(server, wf, n, k, deadline):
    """Start n runs with up to k outstanding. -> dict with ids, latencies, errors, times."""
    req = server.encode("POST", f"/api/v1/workflows/{wf}/runs", {"input": {}})  # same for all

    def handle(_i, status, ctype, body, dt):  # -> as start_run
        if status == 201:
            try:
                return json.loads(body)["id"], dt, status, None
            except (ValueError, TypeError, KeyError):
                pass
        try:
            return None, dt, status, decode_body(ctype, body)
        except ValueError:
            return None, dt, status, body[:200]

    t_wall0 = time.time()
    t0 = time.perf_counter()
    res = run_mux(server, range(n), lambda _i: req, handle, k, deadline, retry=False)
    t1 = time.perf_counter()
    ids, lat, errors = [], [], []
    for r in res:
        if isinstance(r, tuple) and r[0]:
            ids.append(r[0])
            lat.append(r[1] * 1000)
        elif isinstance(r, tuple):
            errors.append(f"HTTP {r[2]}: {str(r[3])[:200]}")
        elif r is None:
            errors.append("not attempted (deadline)")
        else:
            errors.append(f"{type(r).__name__}: {r}")
    return {"ids": ids, "latency_ms": lat, "errors": errors, "t_wall0": t_wall0,
            "t0": t0, "t1": t1, "phase_s": t1 - t0}


def wait_counts(conn, predicate, timeout, interval=0.02):
    """Poll /metrics until predicate(counts) holds. -> (ok, seconds, counts, polls)."""
    t0 = time.perf_counter()
    polls = 0
    counts = {}
    while True:
        check_stop()
        counts, _ = metrics(conn)
        polls += 1
        if predicate(counts):
            return True, time.perf_counter() - t0, counts, polls
        if time.perf_counter() - t0 > timeout:
            return False, time.perf_counter() - t0, counts, polls
        time.sleep(interval)


def get_runs(server, ids, k, deadline):
    res = run_mux(server, ids, lambda rid: server.encode("GET", f"/api/v1/runs/{rid}"),
                  lambda _rid, status, ctype, body, _dt: (status, decode_body(ctype, body)),
                  k, deadline, retry=True)
    out = []
    for rid, r in zip(ids, res):
        if isinstance(r, tuple) and r[0] == 200 and isinstance(r[1], dict):
            out.append(r[1])
        else:
            out.append({"id": rid, "_error": repr(r)[:300]})
    return out


def cancel_many(server, ids, k, deadline):
    """POST .../cancel for every id with up to k outstanding (retried once on a broken
    connection: a cancel is safe to repeat). -> list aligned with ids: (status, seconds,
    body if status != 200 else None), or the exception, or None (deadline/stop)."""
    def handle(_rid, status, ctype, body, dt):
        if status == 200:
            return status, dt, None
        try:
            return status, dt, decode_body(ctype, body)
        except ValueError:
            return status, dt, body[:200]
    return run_mux(server, ids, lambda rid: server.encode("POST", f"/api/v1/runs/{rid}/cancel", b"{}"),
                   handle, k, deadline, retry=True)


def list_status_ids(conn, status, limit_pages=5):
    """First few ids of runs with a status (for reporting stuck runs)."""
    status_code, body = conn.request("GET", f"/api/v1/runs?status={status}&limit=20")
    if status_code != 200 or not isinstance(body, dict):
        return [f"list -> {status_code}"]
    return [(it.get("id"), it.get("status"), it.get("workflow_id")) for it in body.get("items", [])]


def other_conn(server, c):
    """A connection to the second of several instances (bench/pg.py), else `c` itself: one
    server is driven on one connection, as always."""
    return server.conn(1) if len(server.addresses) > 1 else c


def close_conns(*conns):
    for conn in {id(x): x for x in conns}.values():
        conn.close()


def error_digest(errors, limit=5):
    counts = {}
    for e in errors:
        counts[e] = counts.get(e, 0) + 1
    return {"count": len(errors),
            "top": sorted(counts.items(), key=lambda kv: -kv[1])[:limit]}


def ms(x):
    return round(x * 1000, 3)


# --------------------------------------------------------------------------- workloads


def w1(server, ctx):
    defs = definitions()
    apply_definitions(server, {"noop1": defs["noop1"]})
    c = server.conn(0)
    cw = other_conn(server, c)  # the await: on a second instance when there are several
    full, start, bad = [], [], []
    answered_completed = 0
    deadline = time.monotonic() + 120
    try:
        for i in range(10 + 200):
            check_stop()
            if time.monotonic() > deadline:
                bad.append("deadline reached")
                break
            t0 = time.perf_counter()
            rid, _, code, body = start_run(c, "noop1")
            t1 = time.perf_counter()
            if not rid:
                bad.append(f"start HTTP {code}: {str(body)[:200]}")
                continue
            status, run = cw.request("GET", f"/api/v1/runs/{rid}?wait_ms=5000")
            t2 = time.perf_counter()
            if status != 200 or run.get("status") != "completed" or run.get("output") != {"ok": True}:
                bad.append(f"{rid}: HTTP {status} status={run.get('status') if isinstance(run, dict) else run!r}"
                           f" output={run.get('output') if isinstance(run, dict) else None}")
                continue
            if i >= 10:
                full.append(ms(t2 - t0))
                start.append(ms(t1 - t0))
                answered_completed += body.get("status") == "completed"
    finally:
        close_conns(c, cw)
    return {"n_target": 200, "full_ms": summary(full), "start_ms": summary(start),
            "await_ms": summary([f - s for f, s in zip(full, start)]),
            "start_answered_completed": answered_completed,
            "errors": error_digest(bad), "ok": not bad and len(full) == 200}


def w2(server, ctx, n, spend=False):
    """W2; `spend`: every step attempt is priced (and counted under a far cap), so each
    commit also adds to the workspace's spend."""
    defs = definitions()
    apply_definitions(server, {"steps10": defs["steps10"]})
    if spend:
        c = server.conn()
        try:
            status, body = c.request("PUT", "/api/v1/billing",
                                     {"spend_cap": 1000000, "prices": {"default": 0.000001}},
                                     retry=True)
            if status != 200:
                raise RuntimeError(f"PUT billing -> {status} {body}")
        finally:
            c.close()
    mc = server.conn()
    _, m0 = metrics(mc)
    pc = phase_cpu_start(server.pid)
    timeout = max(60.0, n / 50.0)  # generous: 50 wf/s would be far below every peer
    st = start_many(server, "steps10", n, 50, time.monotonic() + timeout)
    n_started = len(st["ids"])
    # Wait for all started runs to reach a terminal status.
    ok, waited, counts, polls = wait_counts(
        mc, lambda c: sum(c.get(s, 0) for s in TERMINAL) >= n_started,
        timeout=timeout, interval=0.02)
    t_detect = time.perf_counter()
    phase = phase_cpu_end(pc)
    _, m1 = metrics(mc)
    stuck = []
    if not ok:
        for s in ("pending", "running", "waiting", "paused"):
            if counts.get(s):
                stuck.append({"status": s, "count": counts[s], "sample": list_status_ids(mc, s)})
    mc.close()
    # Verify every output; take completion times from the runs.
    runs = get_runs(server, st["ids"], 50, time.monotonic() + max(60.0, n / 20.0))
    expected = {"step": 9, "v": "ok"}
    bad_output, finished, not_completed = [], [], {}
    for r in runs:
        if r.get("status") != "completed":
            key = r.get("status") or r.get("_error", "?")
            not_completed[key] = not_completed.get(key, 0) + 1
            continue
        if r.get("output") != expected:
            bad_output.append((r["id"], r.get("output")))
        steps = r.get("steps") or []
        if len(steps) != 10 or any(s.get("status") != "completed" for s in steps):
            bad_output.append((r["id"], "steps: " + ",".join(str(s.get("status")) for s in steps)))
        try:
            finished.append(rfc3339_ms(r.get("finished_at")))
        except ValueError:
            bad_output.append((r["id"], f"finished_at {r.get('finished_at')!r}"))
    completed = len(finished)
    elapsed_server = (max(finished) / 1000.0 - st["t_wall0"]) if finished else None
    elapsed_detect = t_detect - st["t0"]
    wf_s = completed / elapsed_server if elapsed_server else None
    out = {
        "n": n, "started": n_started, "completed": completed,
        "start_errors": error_digest(st["errors"]),
        "not_completed": not_completed, "bad_outputs": len(bad_output),
        "bad_output_sample": bad_output[:5],
        "all_completed_within_timeout": ok, "stuck": stuck,
        "start_phase_s": round(st["phase_s"], 3),
        "start_rate_per_s": round(n_started / st["phase_s"], 1) if st["phase_s"] else None,
        "start_ms": summary(st["latency_ms"]),
        "first_start_to_last_finished_at_s": round(elapsed_server, 3) if elapsed_server else None,
        "first_start_to_all_seen_terminal_s": round(elapsed_detect, 3),
        "wf_per_s": round(wf_s, 1) if wf_s else None,
        "steps_per_s": round(10 * wf_s, 1) if wf_s else None,
        "wf_per_s_by_detection": round(completed / elapsed_detect, 1) if elapsed_detect else None,
        "metric_polls": polls, "store": commit_stats(m0, m1), "timed_phase_cpu": phase,
        "ok": ok and completed == n and not bad_output,
    }
    if spend:
        # Every attempt at one millionth: the spend is the attempts made, exactly.
        c = server.conn()
        try:
            _, billing = c.request("GET", "/api/v1/billing", retry=True)
        finally:
            c.close()
        out["spend"] = billing.get("spend")
        out["spend_expected"] = round(10 * completed * 0.000001, 6)
        out["ok"] = out["ok"] and out["spend"] == out["spend_expected"]
    disk = ctx.get("disk") or {}
    if wf_s and disk.get("sqlite_full_commits_per_s"):
        out["steps_per_s_over_sqlite_full_commits_per_s"] = round(
            10 * wf_s / disk["sqlite_full_commits_per_s"], 2)
    return out


def w3a(server, ctx):
    defs = definitions()
    apply_definitions(server, {"sleep1h": defs["sleep1h"]})
    n = 100
    st = start_many(server, "sleep1h", n, 50, time.monotonic() + 60)
    c = server.conn(0)
    cr = other_conn(server, c)  # the reads: on a second instance when there are several
    ok, park_s, counts, _ = wait_counts(c, lambda k: k.get("waiting", 0) >= len(st["ids"]), 30)
    if not ok:
        close_conns(c, cr)
        return {"ok": False, "error": "not all runs parked within 30 s", "counts": counts,
                "start_errors": error_digest(st["errors"])}
    to_terminal, call, gets_needed, bad = [], [], [], []
    cancelled_in_response = 0
    deadline = time.monotonic() + 120
    try:
        for rid in st["ids"]:
            check_stop()
            if time.monotonic() > deadline:
                bad.append("deadline reached")
                break
            t0 = time.perf_counter()
            status, body = c.request("POST", f"/api/v1/runs/{rid}/cancel", {}, retry=True)
            t1 = time.perf_counter()
            if status != 200:
                bad.append(f"cancel HTTP {status}: {str(body)[:200]}")
                continue
            if isinstance(body, dict) and body.get("status") == "cancelled":
                cancelled_in_response += 1
            gets, terminal = 0, False
            while gets < 1000 and time.perf_counter() - t0 < 5:
                gets += 1
                status, run = cr.request("GET", f"/api/v1/runs/{rid}")
                if status == 200 and run.get("status") in TERMINAL:
                    terminal = True
                    break
            t2 = time.perf_counter()
            if not terminal:
                bad.append(f"{rid} not terminal 5 s after cancel")
                continue
            call.append(ms(t1 - t0))
            to_terminal.append(ms(t2 - t0))
            gets_needed.append(gets)
    finally:
        close_conns(c, cr)
    return {"n": n, "parked_s": round(park_s, 3), "start_errors": error_digest(st["errors"]),
            "cancel_to_terminal_ms": summary(to_terminal), "cancel_call_ms": summary(call),
            "cancel_response_already_cancelled": cancelled_in_response,
            "gets_until_terminal_max": max(gets_needed) if gets_needed else None,
            "errors": error_digest(bad), "ok": not bad and len(to_terminal) == n}


W12_STEPS_PER_S = 25000  # the background load's default rate (issue 18: >= 25,000 held)
W12_W1_N = 500  # W1 iterations sampled under the load (after 10 warm-up)
W12_W3A_N = 300  # parked runs cancelled one at a time under the load
W12_K = 50  # the load's outstanding starts at most (as W2)
W12_WARMUP_S = 1.0  # the load runs this long before the sampling starts
W12_MAX_S = 120.0  # bound on the whole sampling phase


def paced_starts(addr, req, rate, k, stop, out):
    """The background load of W12, in a process of its own (so that its work never holds
    the sampling process's interpreter): sends the start request `req` at `rate` per second
    (open loop: the i-th start is due at i/rate), with up to k outstanding on keep-alive
    connections, until `stop` is set. A start that is due while all k are outstanding
    waits for a free connection (counted in `late_sends` when sent > 1 ms late). Puts a dict with the counts and the
    start latencies (ms) on the queue `out`."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_DFL)
    perf = time.perf_counter
    sel = selectors.DefaultSelector()
    idle, busy = [], {}
    started, errors, late, lat = 0, [], 0, []
    t0 = perf()
    sent = 0
    try:
        for _ in range(k):
            s = socket.create_connection(addr, timeout=10.0)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ, Reader())
            idle.append(s)
        while not stop.is_set():
            now = perf()
            due = int((now - t0) * rate) + 1  # starts due by now
            while sent < due and idle:
                s = idle.pop()
                if now - (t0 + sent / rate) > 0.001:
                    late += 1
                s.sendall(req)  # ~200 bytes into an empty socket buffer: never blocks long
                busy[s] = perf()
                sent += 1
            wait = 0.05 if sent < due else max(0.0, t0 + sent / rate - perf())
            for key, _ in sel.select(min(wait, 0.05)):
                s = key.fileobj
                data = s.recv(RECV_BYTES)
                r = key.data.feed(data)
                if r is None:
                    continue
                status, _ctype, _body, _close = r
                lat.append((perf() - busy.pop(s)) * 1000)
                if status == 201:
                    started += 1
                elif len(errors) < 5:
                    errors.append(f"HTTP {status}")
                idle.append(s)
    except Exception as e:  # noqa: BLE001 - reported to the parent
        errors.append(f"{type(e).__name__}: {e}")
    finally:
        elapsed = perf() - t0
        for key in list(sel.get_map().values()):
            key.fileobj.close()
        sel.close()
        out.put({"sent": sent, "started": started, "elapsed_s": round(elapsed, 3),
                 "start_rate_per_s": round(started / elapsed, 1) if elapsed else None,
                 "late_sends": late, "errors": errors, "start_ms": summary(lat)})


def w12(server, ctx):
    """W12 mixed: W1 and W3a sampled while a W2-style load (steps10 runs started at a
    steady rate by another process) keeps the engine busy. Reports the load's steps/s
    over the sampling window (steps committed, from /metrics) beside the figures."""
    import multiprocessing

    defs = definitions()
    apply_definitions(server, {w: defs[w] for w in ("noop1", "steps10", "sleep1h")})
    rate_steps = ctx.get("w12_steps_per_s") or W12_STEPS_PER_S
    parked = start_many(server, "sleep1h", W12_W3A_N, 50, time.monotonic() + 60)
    c = server.conn(0)
    ok, _, counts, _ = wait_counts(c, lambda k: k.get("waiting", 0) >= len(parked["ids"]), 30)
    if not ok:
        c.close()
        return {"ok": False, "error": "not all runs parked within 30 s", "counts": counts}
    mp = multiprocessing.get_context("fork")
    stop, out = mp.Event(), mp.Queue()
    req = server.encode("POST", "/api/v1/workflows/steps10/runs", {"input": {}})
    loader = mp.Process(target=paced_starts, daemon=True,
                        args=(server.addresses[0], req, rate_steps / 10.0, W12_K, stop, out))
    loader.start()
    w1_full, w1_start, w3_full, w3_call, bad = [], [], [], [], []
    load = {}
    try:
        time.sleep(W12_WARMUP_S)
        _, m0 = metrics(c)
        pc = phase_cpu_start(server.pid)
        t0 = time.perf_counter()
        deadline = time.monotonic() + W12_MAX_S
        for i in range(10 + W12_W1_N):
            check_stop()
            if time.monotonic() > deadline or not loader.is_alive():
                bad.append("deadline reached" if loader.is_alive() else "the load stopped")
                break
            ta = time.perf_counter()
            rid, _, code, body = start_run(c, "noop1")
            tb = time.perf_counter()
            if not rid:
                bad.append(f"start HTTP {code}: {str(body)[:200]}")
                continue
            status, run = c.request("GET", f"/api/v1/runs/{rid}?wait_ms=5000")
            tc = time.perf_counter()
            if status != 200 or run.get("status") != "completed":
                bad.append(f"{rid}: HTTP {status}")
                continue
            if i >= 10:
                w1_full.append(ms(tc - ta))
                w1_start.append(ms(tb - ta))
        for rid in parked["ids"]:
            check_stop()
            if time.monotonic() > deadline:
                bad.append("deadline reached")
                break
            ta = time.perf_counter()
            status, body = c.request("POST", f"/api/v1/runs/{rid}/cancel", {}, retry=True)
            tb = time.perf_counter()
            if status != 200:
                bad.append(f"cancel HTTP {status}: {str(body)[:200]}")
                continue
            terminal = False
            for _ in range(1000):
                status, run = c.request("GET", f"/api/v1/runs/{rid}")
                if status == 200 and run.get("status") in TERMINAL:
                    terminal = True
                    break
                if time.perf_counter() - ta > 5:
                    break
            tc = time.perf_counter()
            if not terminal:
                bad.append(f"{rid} not terminal 5 s after cancel")
                continue
            w3_call.append(ms(tb - ta))
            w3_full.append(ms(tc - ta))
        t1 = time.perf_counter()
        phase = phase_cpu_end(pc)
        _, m1 = metrics(c)
    finally:
        stop.set()
        try:
            load = out.get(timeout=30)
        except Exception:  # noqa: BLE001 - queue.Empty: the loader died
            load = {"errors": ["the load process gave no result"]}
        loader.join(timeout=10)
        if loader.is_alive():
            loader.kill()
        c.close()
    window = t1 - t0
    store = commit_stats(m0, m1)
    # The sampled W1 runs' one step each is not the load's.
    bg_steps = store["steps_committed"] - len(w1_full)
    bg = round(bg_steps / window, 1) if window > 0 else None
    return {"target_steps_per_s": rate_steps, "window_s": round(window, 3),
            "background_steps_per_s": bg, "store": store, "load": load,
            "w1_full_ms": summary(w1_full), "w1_start_ms": summary(w1_start),
            "w3a_cancel_to_terminal_ms": summary(w3_full), "w3a_cancel_call_ms": summary(w3_call),
            "timed_phase_cpu": phase, "errors": error_digest(bad),
            "ok": not bad and len(w1_full) == W12_W1_N and len(w3_full) == len(parked["ids"])
            and not load.get("errors")}


class SlowTarget:
    """Local HTTP target: answers after 30 s; records when each caller hangs up."""

    def __init__(self, delay=30.0):
        self.delay = delay
        self.events = {}  # path -> {"arrived": perf, "closed": perf | None, "answered": bool}
        self.cond = threading.Condition()
        target = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):  # quiet
                pass

            def do_GET(self):
                key = self.path
                with target.cond:
                    target.events[key] = {"arrived": time.perf_counter(), "closed": None,
                                          "answered": False}
                    target.cond.notify_all()
                if hold_until_hangup(self.connection, time.monotonic() + target.delay, STOP):
                    with target.cond:
                        target.events[key]["closed"] = time.perf_counter()
                        target.cond.notify_all()
                    return
                answer_json(self, b'{"slow": true}')
                with target.cond:
                    target.events[key]["answered"] = True
                    target.cond.notify_all()

        self.server = LocalServer(Handler)
        self.port = self.server.port

    def wait_for(self, key, field, timeout):
        def reached():
            ev = self.events.get(key)
            return ev if ev is not None and (field == "arrived" or ev.get(field)) else None

        return wait_on(self.cond, reached, timeout, STOP) or self.events.get(key)

    def close(self):
        self.server.close()


def find_children(pid, comm):
    """pids of live (non-zombie) descendants of pid with command name comm (a shell
    step's program runs under a keeper process, a child of the server)."""
    procs = {p: (name, int(rest[1]), rest[0]) for p, name, rest in each_process()}
    out = []
    for p, (name, _, state) in procs.items():
        if name != comm or state == "Z":
            continue
        up, hops = procs[p][1], 0
        while up not in (0, 1, pid) and up in procs and hops < 64:
            up, hops = procs[up][1], hops + 1
        if up == pid:
            out.append(p)
    return out


def process_gone(pid):
    stat = read_stat(f"/proc/{pid}/stat")
    return stat is None or stat[1][0] == "Z"


def _cancel_busy(server, c, rid, t_running, probe_gone, step_id="call", cc=None):
    """Cancel (on `cc`, default `c`) 1 s after the step was seen running; -> measurement
    dict."""
    while time.perf_counter() < t_running + 1.0:
        check_stop()
        time.sleep(min(0.01, max(0.0, t_running + 1.0 - time.perf_counter())))
    t0 = time.perf_counter()
    status, body = (cc or c).request("POST", f"/api/v1/runs/{rid}/cancel", {}, retry=True)
    t1 = time.perf_counter()
    gone_at = None
    terminal_at, run = None, None
    # Interleave: probe the step's work (connection / process) tightly, read status.
    end = t0 + 35.0
    while time.perf_counter() < end and (gone_at is None or terminal_at is None):
        check_stop()
        if gone_at is None:
            g = probe_gone()
            if g:
                gone_at = g if isinstance(g, float) else time.perf_counter()
        if terminal_at is None:
            s, r = c.request("GET", f"/api/v1/runs/{rid}")
            if s == 200 and r.get("status") in TERMINAL:
                terminal_at, run = time.perf_counter(), r
        if gone_at is None:
            time.sleep(0.0005)
    step = next((s for s in (run or {}).get("steps", []) if s.get("id") == step_id), {})
    return {
        "cancel_http_status": status,
        "cancel_call_ms": ms(t1 - t0),
        "cancel_to_terminal_ms": ms(terminal_at - t0) if terminal_at else None,
        "cancel_to_work_stopped_ms": ms(gone_at - t0) if gone_at else None,
        "final_status": (run or {}).get("status"),
        "step_status": step.get("status"),
        "step_error": (step.get("error") or {}).get("message") if isinstance(step.get("error"), dict) else step.get("error"),
        "interrupted": gone_at is not None and gone_at - t0 < 29.0,
    }


def _warm_cancel_path(server, c, cc, target):
    """One cancel along the measured path (started on `c`, cancelled on `cc`), not
    measured: a new process prepares each statement once per database connection and
    opens its HTTP connection on first use, which the first cancel would otherwise carry
    (docs/performance.md, W3b). Its own workflow and target path, so that nothing of it
    is mistaken for the measured run."""
    warm = dict(definitions(target_url=f"http://127.0.0.1:{target.port}/warm?"
                                       f"bench={secrets.token_hex(4)}")["busy"], id="busy-warm")
    apply_definitions(server, {"busy-warm": warm})
    rid, _, _, _ = start_run(c, "busy-warm")
    if not rid:
        return
    end = time.perf_counter() + 10
    while time.perf_counter() < end:
        check_stop()
        _, run = c.request("GET", f"/api/v1/runs/{rid}")
        step = next((x for x in run.get("steps", []) if x.get("id") == "call"), {})
        if step.get("status") == "running" or run.get("status") in TERMINAL:
            break
        time.sleep(0.005)
    cc.request("POST", f"/api/v1/runs/{rid}/cancel", {}, retry=True)
    while time.perf_counter() < end:
        check_stop()
        _, run = c.request("GET", f"/api/v1/runs/{rid}")
        if run.get("status") in TERMINAL:
            break
        time.sleep(0.005)


def w3b(server, ctx):
    out = {}
    target = SlowTarget(30.0)
    c = server.conn(0)  # starts the run: this instance drives it (server.pid)
    cc = other_conn(server, c)  # cancels it: another instance when there are several
    try:
        key = f"/slow?bench={secrets.token_hex(4)}"
        defs = definitions(target_url=f"http://127.0.0.1:{target.port}{key}")
        apply_definitions(server, {"busy": defs["busy"]})
        _warm_cancel_path(server, c, cc, target)
        rid, _, code, body = start_run(c, "busy")
        if not rid:
            out["http"] = {"ok": False, "error": f"start HTTP {code}: {body}"}
        else:
            t_running = None
            end = time.perf_counter() + 15
            while time.perf_counter() < end:
                check_stop()
                s, run = c.request("GET", f"/api/v1/runs/{rid}")
                step = next((x for x in run.get("steps", []) if x.get("id") == "call"), {})
                if step.get("status") == "running":
                    t_running = time.perf_counter()
                    break
                if run.get("status") in TERMINAL:
                    break
                time.sleep(0.005)
            ev = target.wait_for(key, "arrived", 10)
            if t_running is None or ev is None:
                out["http"] = {"ok": False, "error": "step never seen running / target not called",
                               "run_status": run.get("status"), "step": step}
            else:
                def probe():
                    e = target.events.get(key) or {}
                    return e.get("closed")
                r = _cancel_busy(server, c, rid, t_running, probe, cc=cc)
                r["target_called_to_step_seen_running_ms"] = ms(t_running - ev["arrived"])
                r["ok"] = r["interrupted"] and r["final_status"] == "cancelled"
                out["http"] = r
        # Variant busy-shell (needs --allow-shell and the shell step type).
        status, body = c.request("PUT", "/api/v1/workflows/busy-shell", BUSY_SHELL, retry=True)
        if status not in (200, 201):
            out["shell"] = {"ok": None, "skipped": f"PUT busy-shell -> {status}: "
                            f"{(body.get('error') or {}).get('message') if isinstance(body, dict) else body}"}
        else:
            rid, _, code, body = start_run(c, "busy-shell")
            t_running, pids = None, []
            end = time.perf_counter() + 15
            while rid and time.perf_counter() < end:
                check_stop()
                s, run = c.request("GET", f"/api/v1/runs/{rid}")
                step = next((x for x in run.get("steps", []) if x.get("id") == "call"), {})
                if step.get("status") == "running":
                    pids = find_children(server.pid, "sleep")
                    if pids:
                        t_running = time.perf_counter()
                        break
                if run.get("status") in TERMINAL:
                    break
                time.sleep(0.005)
            if t_running is None:
                out["shell"] = {"ok": False, "error": "shell step never seen running with a child `sleep`",
                                "run_status": run.get("status") if rid else None,
                                "step": step if rid else None}
            else:
                r = _cancel_busy(server, c, rid, t_running,
                                 lambda: all(process_gone(p) for p in pids), cc=cc)
                r["ok"] = r["interrupted"] and r["final_status"] == "cancelled"
                out["shell"] = r
    finally:
        close_conns(c, cc)
        target.close()
    out["ok"] = bool(out.get("http", {}).get("ok")) and out.get("shell", {}).get("ok") is not False
    return out


def w4(server, ctx, n=10000):
    defs = definitions()
    apply_definitions(server, {"sleep1h": defs["sleep1h"]})
    c = server.conn()
    _, m0 = metrics(c)
    mem0 = memory(server.pid)
    pc = phase_cpu_start(server.pid)
    st = start_many(server, "sleep1h", n, 50, time.monotonic() + 300)
    ok, _, counts, _ = wait_counts(c, lambda k: k.get("waiting", 0) >= len(st["ids"]),
                                   timeout=300, interval=0.025)
    t_parked = time.perf_counter()
    park_cpu = phase_cpu_end(pc)
    parked_s = t_parked - st["t0"]
    time.sleep(0.5)  # let allocator settle a little before reading memory
    mem1 = memory(server.pid)
    _, m1 = metrics(c)
    db1 = server.data_dir_bytes()
    out = {"n": n, "started": len(st["ids"]), "start_errors": error_digest(st["errors"]),
           "start_phase_s": round(st["phase_s"], 3), "start_ms": summary(st["latency_ms"]),
           "all_parked": ok, "counts_when_parked": counts,
           "first_start_to_all_parked_s": round(parked_s, 3),
           "store_park_phase": commit_stats(m0, m1), "park_phase_cpu": park_cpu}
    if not ok:
        out["stuck"] = {s: list_status_ids(c, s) for s in ("pending", "running") if counts.get(s)}
    # Cancel all with up to 16 outstanding.
    pc = phase_cpu_start(server.pid)
    t0 = time.perf_counter()

    res = cancel_many(server, st["ids"], 16, time.monotonic() + 300)
    t_calls = time.perf_counter()
    lat = [r[1] * 1000 for r in res if isinstance(r, tuple) and r[0] == 200]
    errs = [f"HTTP {r[0]}: {str(r[2])[:150]}" if isinstance(r, tuple) else repr(r)[:150]
            for r in res if not (isinstance(r, tuple) and r[0] == 200)]
    ok2, _, counts2, _ = wait_counts(c, lambda k: sum(k.get(s, 0) for s in TERMINAL) >= len(st["ids"]),
                                     timeout=120, interval=0.02)
    t_term = time.perf_counter()
    cancel_cpu = phase_cpu_end(pc)
    time.sleep(0.5)
    mem2 = memory(server.pid)
    _, m2 = metrics(c)
    c.close()
    mib = lambda a, b, k: round((b.get(k, 0) - a.get(k, 0)) / 1024, 1)  # noqa: E731
    out.update({
        "cancel_calls_s": round(t_calls - t0, 3), "cancel_ms": summary(lat),
        "cancel_errors": error_digest(errs),
        "all_terminal": ok2, "counts_when_terminal": counts2,
        "first_cancel_to_all_terminal_s": round(t_term - t0, 3),
        "store_cancel_phase": commit_stats(m1, m2), "cancel_phase_cpu": cancel_cpu,
        "memory_kib": {"before": mem0, "parked": mem1, "after_cancel": mem2},
        "pss_added_by_parked_mib": mib(mem0, mem1, "pss_kib"),
        "rss_added_by_parked_mib": mib(mem0, mem1, "vmrss_kib"),
        "pss_after_cancel_vs_before_mib": mib(mem0, mem2, "pss_kib"),
        "data_dir_bytes_parked": db1, "data_dir_bytes_end": server.data_dir_bytes(),
        "ok": ok and ok2 and not errs and len(st["ids"]) == n,
    })
    return out


def w9(server, ctx, n=W9_N):
    """W9 bulk cancel: n parked sleep1h runs, then one POST /api/v1/runs/bulk that cancels
    every waiting run of sleep1h; time from the request until its operation is completed
    (polled every 5 ms; every run's cancel is committed before its outcome is recorded),
    and the operation's own created_at -> finished_at."""
    defs = definitions()
    apply_definitions(server, {"sleep1h": defs["sleep1h"]})
    c = server.conn()
    st = start_many(server, "sleep1h", n, 50, time.monotonic() + 300)
    ok, _, counts, _ = wait_counts(c, lambda k: k.get("waiting", 0) >= len(st["ids"]),
                                   timeout=300, interval=0.025)
    out = {"n": n, "started": len(st["ids"]), "start_errors": error_digest(st["errors"]),
           "all_parked": ok, "counts_when_parked": counts}
    if not ok:
        out["ok"] = False
        return out
    _, m1 = metrics(c)
    body = {"filter": {"status": "waiting", "workflow_id": "sleep1h"}, "action": "cancel",
            "reason": "W9"}
    status, preview = c.request("POST", "/api/v1/runs/bulk", dict(body, preview=True))
    out["preview_count"] = preview.get("count") if isinstance(preview, dict) else preview
    pc = phase_cpu_start(server.pid)
    t0 = time.perf_counter()
    status, resp = c.request("POST", "/api/v1/runs/bulk", body)
    t_accepted = time.perf_counter()
    if status != 202:
        out.update({"ok": False, "error": f"POST /api/v1/runs/bulk -> {status}: {resp}"})
        return out
    op = resp["operation"]
    polls = 0
    deadline = time.monotonic() + 120
    while op["status"] != "completed" and time.monotonic() < deadline:
        check_stop()
        time.sleep(0.005)
        status, resp = c.request("GET", f"/api/v1/operations/{op['id']}")
        polls += 1
        if status == 200:
            op = resp["operation"]
    t_done = time.perf_counter()
    cpu = phase_cpu_end(pc)
    _, m2 = metrics(c)
    ok2, _, counts2, _ = wait_counts(c, lambda k: k.get("cancelled", 0) >= len(st["ids"]),
                                     timeout=30, interval=0.02)
    c.close()
    server_s = None
    if op.get("finished_at"):
        server_s = (parse_rfc3339(op["finished_at"]) - parse_rfc3339(op["created_at"]))
    out.update({
        "request_to_accepted_s": round(t_accepted - t0, 3),
        "request_to_all_cancelled_s": round(t_done - t0, 3),
        "operation_created_to_finished_s": None if server_s is None else round(server_s, 3),
        "operation": op, "polls": polls, "all_cancelled": ok2, "counts_at_end": counts2,
        "store_cancel_phase": commit_stats(m1, m2), "cancel_phase_cpu": cpu,
        "ok": (ok2 and op["status"] == "completed" and op["done"] == len(st["ids"])
               and op["total"] == len(st["ids"])),
    })
    return out


def parse_rfc3339(text):
    """Seconds since the epoch of an API time such as 2026-11-22T10:00:00.000Z."""
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def w4x(server, ctx):
    """W4x: N parked sleep1h runs (default 100,000), then restart the server on the same
    data directory: until it answers, until a new noop1 run completes; memory."""
    n = int(ctx.get("w4x_n") or 100000)
    defs = definitions()
    apply_definitions(server, {"sleep1h": defs["sleep1h"], "noop1": defs["noop1"]})
    mib = lambda a, b, k: round((b.get(k, 0) - a.get(k, 0)) / 1024, 1)  # noqa: E731
    c = server.conn()
    _, m0 = metrics(c)
    mem0 = memory(server.pid)
    pc = phase_cpu_start(server.pid)
    st = start_many(server, "sleep1h", n, 50, time.monotonic() + max(300.0, n / 50.0))
    # /metrics counts runs with a GROUP BY over the runs table: poll less often than W4.
    ok, _, counts, polls = wait_counts(c, lambda k: k.get("waiting", 0) >= len(st["ids"]),
                                       timeout=max(120.0, n / 200.0), interval=0.05)
    t_parked = time.perf_counter()
    park_cpu = phase_cpu_end(pc)
    parked_s = t_parked - st["t0"]
    time.sleep(0.5)  # as W4: let the allocator settle a little before reading memory
    mem1 = memory(server.pid)
    t = time.perf_counter()
    _, m1 = metrics(c)
    metrics_call_ms = ms(time.perf_counter() - t)
    db1 = server.data_dir_bytes()
    out = {"n": n, "started": len(st["ids"]), "start_errors": error_digest(st["errors"]),
           "start_phase_s": round(st["phase_s"], 3),
           "start_rate_per_s": round(len(st["ids"]) / st["phase_s"], 1) if st["phase_s"] else None,
           "start_ms": summary(st["latency_ms"]),
           "all_parked": ok, "counts_when_parked": counts, "metric_polls": polls,
           "first_start_to_all_parked_s": round(parked_s, 3),
           "metrics_call_ms_when_parked": metrics_call_ms,
           "store_park_phase": commit_stats(m0, m1), "park_phase_cpu": park_cpu,
           "pss_added_by_parked_mib": mib(mem0, mem1, "pss_kib"),
           "rss_added_by_parked_mib": mib(mem0, mem1, "vmrss_kib"),
           "data_dir_bytes_parked": db1}
    if not ok:
        out["stuck"] = {s: list_status_ids(c, s) for s in ("pending", "running") if counts.get(s)}
    c.close()
    # Restart on the same data directory.
    rs = server.restart()
    t_spawn = rs.pop("t_spawn")
    out["restart"] = rs
    out["restart_to_answer_s"] = rs["spawn_to_healthz_s"]
    c = server.conn()
    noop_ok, noop_err, noop_status = False, None, None
    try:
        rid, dt, code, body = start_run(c, "noop1")
        out["restart_noop_start_ms"] = ms(dt)
        if not rid:
            noop_err = f"start HTTP {code}: {str(body)[:200]}"
        else:
            end = time.perf_counter() + 30
            while time.perf_counter() < end:  # bounded: each GET waits up to 5 s
                check_stop()
                status, run = c.request("GET", f"/api/v1/runs/{rid}?wait_ms=5000")
                noop_status = run.get("status") if isinstance(run, dict) else f"HTTP {status}"
                if status == 200 and noop_status in TERMINAL:
                    break
            noop_ok = noop_status == "completed" and run.get("output") == {"ok": True}
            if not noop_ok:
                noop_err = f"{rid}: status {noop_status} output {run.get('output') if isinstance(run, dict) else run!r}"
    except OSError as e:
        noop_err = f"{type(e).__name__}: {e}"
    t_noop = time.perf_counter()
    out["restart_to_noop_completed_s"] = round(t_noop - t_spawn, 3) if noop_ok else None
    out["restart_noop_status"] = noop_status
    out["restart_server_cpu_s"] = round(proc_jiffies(server.pid, True) / CLK_TCK, 2)
    # The parked runs are all still there.
    ok2, _, counts2, _ = wait_counts(c, lambda k: k.get("waiting", 0) >= len(st["ids"]),
                                     timeout=30, interval=0.1)
    out["counts_after_restart"] = counts2
    out["waiting_after_restart"] = counts2.get("waiting", 0)
    out["waiting_after_restart_ok"] = counts2.get("waiting", 0) == len(st["ids"]) == n
    time.sleep(0.5)
    mem2 = memory(server.pid)
    c.close()
    out.update({
        "memory_kib": {"before": mem0, "parked": mem1, "after_restart": mem2},
        "pss_after_restart_mib": round(mem2.get("pss_kib", 0) / 1024, 1),
        "rss_after_restart_mib": round(mem2.get("vmrss_kib", 0) / 1024, 1),
        "pss_after_restart_vs_before_mib": mib(mem0, mem2, "pss_kib"),
        "rss_after_restart_vs_before_mib": mib(mem0, mem2, "vmrss_kib"),
        "restart_error": noop_err,
        "ok": (ok and len(st["ids"]) == n and rs["exit_code"] == 0 and noop_ok
               and out["waiting_after_restart_ok"]),
    })
    return out


def w5(server, ctx, n=1000):
    defs = definitions()
    apply_definitions(server, {"timer2s": defs["timer2s"]})
    c = server.conn()
    _, m0 = metrics(c)
    pc = phase_cpu_start(server.pid)
    st = start_many(server, "timer2s", n, 50, time.monotonic() + 120)
    ok, _, counts, _ = wait_counts(c, lambda k: sum(k.get(s, 0) for s in TERMINAL) >= len(st["ids"]),
                                   timeout=120, interval=0.05)
    t_done = time.perf_counter()
    phase = phase_cpu_end(pc)
    _, m1 = metrics(c)
    stuck = {}
    if not ok:
        stuck = {s: list_status_ids(c, s) for s in ("pending", "running", "waiting") if counts.get(s)}
    c.close()
    runs = get_runs(server, st["ids"], 50, time.monotonic() + 120)
    late, bad = [], []
    for r in runs:
        if r.get("status") != "completed":
            bad.append(f"status {r.get('status') or r.get('_error')}")
            continue
        steps = {s.get("id"): s for s in r.get("steps", [])}
        try:
            t0 = rfc3339_ms(steps["t0"]["started_at"])
            t1 = rfc3339_ms(steps["t1"]["started_at"])
        except (KeyError, ValueError, TypeError) as e:
            bad.append(f"timestamps: {e}")
            continue
        late.append(t1 - t0 - 2000)
    early = sum(1 for x in late if x < 0)
    return {"n": n, "started": len(st["ids"]), "start_errors": error_digest(st["errors"]),
            "start_phase_s": round(st["phase_s"], 3), "start_ms": summary(st["latency_ms"]),
            "all_completed": ok, "first_start_to_all_terminal_s": round(t_done - st["t0"], 3),
            "counts": counts, "stuck": stuck,
            "lateness_ms": summary(late, 0), "early_wakeups": early,
            "early_min_ms": min(late) if early else None,
            "errors": error_digest(bad), "store": commit_stats(m0, m1), "timed_phase_cpu": phase,
            "ok": ok and not bad and early == 0 and len(late) == n}


def w6_approval_ids(server, ids):
    """Read each run: -> ([(run id, approval id)], errors) for those waiting on an approval."""
    pairs, bad = [], []
    for r in get_runs(server, ids, 50, time.monotonic() + 120):
        wait = r.get("wait") or {}
        if r.get("status") != "waiting" or wait.get("kind") != "approval" or not wait.get("approval_id"):
            bad.append(f"{r.get('id')}: status={r.get('status') or r.get('_error')} wait={wait}")
            continue
        pairs.append((r["id"], wait["approval_id"]))
    return pairs, bad


def w6_await_completed(c, rid, t0, mode):
    """After a decision: GET the run until terminal ("poll"), or one long-poll ("wait").
    -> (run or None, GETs made)."""
    if mode == "wait":
        status, run = c.request("GET", f"/api/v1/runs/{rid}?wait_ms=5000")
        ok = status == 200 and isinstance(run, dict) and run.get("status") in TERMINAL
        return (run if ok else None), 1
    gets = 0
    while gets < W6_MAX_GETS and time.perf_counter() - t0 < 5:
        gets += 1
        status, run = c.request("GET", f"/api/v1/runs/{rid}")
        if status == 200 and isinstance(run, dict) and run.get("status") in TERMINAL:
            return run, gets
    return None, gets


def w6_decide_all(server, pairs, mode):
    """Approve every approval one at a time; time the decision call and decision -> run
    seen completed."""
    c = server.conn()
    to_completed, call, after, gets_needed, bad = [], [], [], [], []
    deadline = time.monotonic() + 120
    try:
        for rid, apr in pairs:
            check_stop()
            if time.monotonic() > deadline:
                bad.append("deadline reached")
                break
            t0 = time.perf_counter()
            status, body = c.request("POST", f"/api/v1/approvals/{apr}/decision",
                                     {"decision": "approve"}, retry=False)
            t1 = time.perf_counter()
            if status != 200 or not isinstance(body, dict) or body.get("status") != "approved":
                bad.append(f"decision HTTP {status}: {str(body)[:200]}")
                continue
            run, gets = w6_await_completed(c, rid, t0, mode)
            t2 = time.perf_counter()
            if run is None or run.get("status") != "completed" or run.get("output") != {"ok": True}:
                bad.append(f"{rid}: not completed 5 s after the decision"
                           if run is None else f"{rid}: {run.get('status')} output={run.get('output')}")
                continue
            call.append(ms(t1 - t0))
            after.append(ms(t2 - t1))
            to_completed.append(ms(t2 - t0))
            gets_needed.append(gets)
    finally:
        c.close()
    polled = mode == "poll"
    return {"decision_to_completed_ms": summary(to_completed), "decision_call_ms": summary(call),
            "decision_answer_to_completed_ms": summary(after),
            "first_get_already_completed": sum(1 for g in gets_needed if g == 1) if polled else None,
            "gets_until_completed_max": max(gets_needed) if gets_needed and polled else None,
            "decided": len(to_completed), "decision_errors": error_digest(bad)}


def w6(server, ctx):
    """W6: memory before; 10,000 approval1 runs parked on their approval; memory; then
    1,000 of them approved one at a time through the API."""
    n, n_decided = W6_PARKED, W6_DECIDED
    mode = ctx.get("w6_await") or "wait"
    apply_definitions(server, {"approval1": definitions()["approval1"]})
    mib = lambda a, b, k: round((b.get(k, 0) - a.get(k, 0)) / 1024, 1)  # noqa: E731
    c = server.conn()
    _, m0 = metrics(c)
    mem0 = memory(server.pid)
    pc = phase_cpu_start(server.pid)
    st = start_many(server, "approval1", n, 50, time.monotonic() + 300)
    ok, _, counts, _ = wait_counts(c, lambda k: k.get("waiting", 0) >= len(st["ids"]),
                                   timeout=300, interval=0.025)
    parked_s = time.perf_counter() - st["t0"]
    park_cpu = phase_cpu_end(pc)
    time.sleep(0.5)  # as W4: let the allocator settle a little before reading memory
    mem1 = memory(server.pid)
    _, m1 = metrics(c)
    out = {"n": n, "started": len(st["ids"]), "start_errors": error_digest(st["errors"]),
           "start_phase_s": round(st["phase_s"], 3), "start_ms": summary(st["latency_ms"]),
           "all_parked": ok, "counts_when_parked": counts,
           "first_start_to_all_parked_s": round(parked_s, 3),
           "store_park_phase": commit_stats(m0, m1), "park_phase_cpu": park_cpu,
           "memory_kib": {"before": mem0, "parked": mem1},
           "pss_added_by_parked_mib": mib(mem0, mem1, "pss_kib"),
           "rss_added_by_parked_mib": mib(mem0, mem1, "vmrss_kib"),
           "data_dir_bytes_parked": server.data_dir_bytes(), "await": mode}
    if not ok:
        out["stuck"] = {s: list_status_ids(c, s) for s in ("pending", "running") if counts.get(s)}
    pairs, bad_wait = w6_approval_ids(server, st["ids"][:n_decided])
    pc = phase_cpu_start(server.pid)
    decided = w6_decide_all(server, pairs, mode)
    decide_cpu = phase_cpu_end(pc)
    _, m2 = metrics(c)
    c.close()
    out.update(decided)
    out.update({"n_decided": n_decided, "not_waiting_on_approval": error_digest(bad_wait),
                "store_decision_phase": commit_stats(m1, m2), "decision_phase_cpu": decide_cpu,
                "ok": (ok and len(st["ids"]) == n and not bad_wait
                       and decided["decided"] == n_decided)})
    return out


def w8(server, ctx):
    """W8 runaway: a loop of 100,000 noop iterations with max_steps_per_minute 1,000.
    Steps dispatched past the limit (completed noop rows beyond 1,000) and the time from
    the limit (the 1,000th step's finished_at, the server's clock) to the workflow shown
    paused_safety by GET /api/v1/workflows/runaway (this machine's clock, polled)."""
    apply_definitions(server, {"runaway": {
        "id": "runaway", "limits": {"max_steps_per_minute": W8_LIMIT},
        "steps": [{"id": "l", "type": "loop", "with": {"max_iterations": W8_ITERATIONS},
                   "steps": [noop("n", {"ok": True})]}]}})
    c = server.conn()
    rid, _, status, body = start_run(c, "runaway")
    if rid is None:
        raise RuntimeError(f"start runaway -> {status} {body}")
    t0 = time.monotonic()
    seen_ms, wf, polls = None, None, 0
    while time.monotonic() - t0 < 60:
        polls += 1
        _, wf = c.request("GET", "/api/v1/workflows/runaway")
        if isinstance(wf, dict) and wf.get("status") == "paused_safety":
            seen_ms = time.time() * 1000.0
            break
    if seen_ms is None:
        raise RuntimeError(f"runaway never paused_safety: {wf}")
    time.sleep(0.5)  # the held run's carried results commit
    _, run = c.request("GET", f"/api/v1/runs/{rid}")
    time.sleep(0.5)
    _, later = c.request("GET", f"/api/v1/runs/{rid}")
    c.close()
    done = sorted((st for st in run["steps"]
                   if st["id"] == "n" and st["status"] == "completed"),
                  key=lambda st: st["finished_at"])
    done_later = sum(1 for st in later["steps"]
                     if st["id"] == "n" and st["status"] == "completed")
    last_ms = rfc3339_ms(done[-1]["finished_at"]) if done else None
    tripped_ms = rfc3339_ms(wf["safety"]["tripped_at"])
    return {"limit": W8_LIMIT, "iterations": W8_ITERATIONS, "dispatched": len(done),
            "past_limit": len(done) - W8_LIMIT, "dispatched_after_1s": done_later,
            "limit_to_trip_ms": None if last_ms is None else tripped_ms - last_ms,
            "limit_to_visible_ms": None if last_ms is None else round(seen_ms - last_ms, 2),
            "trip_to_visible_ms": round(seen_ms - tripped_ms, 2), "polls": polls,
            "run_status": later["status"], "safety": wf["safety"],
            "ok": len(done) == W8_LIMIT and done_later == W8_LIMIT}


# The throughput breaker stays on (every dispatch is counted) with a limit the
# workloads' single workflows stay under: W2 alone dispatches 10,000 steps of one
# workflow in about a second, past the server's default of 6,000 a minute.
BREAKER_HIGH = ["--max-steps-per-minute", "1000000"]

def _provider_preexec():
    _pdeathsig()
    # The API calls that follow the release are not what W7 measures: the provider
    # yields the CPU to the server.
    os.nice(10)


class OAuthProviderProcess:
    """tests/support/oauth_provider.py as a process of its own (so its CPU is not the
    driver's), on 127.0.0.1; controlled over its /_control routes."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, str(OAUTH_PROVIDER), "--port", "0"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True,
                                     preexec_fn=_provider_preexec)
        _LIVE.append(self.proc)
        ready, _, _ = select.select([self.proc.stdout], [], [], SERVER_START_TIMEOUT)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("READY "):
            stop_process(self.proc, timeout=5)
            raise RuntimeError(f"the OAuth provider did not start: {line!r}")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.conn = Conn("127.0.0.1", self.port, None)

    def control(self, method, route, body=None):
        status, answer = self.conn.request(method, f"/_control/{route}", body, retry=True,
                                           auth=False)
        if status != 200:
            raise RuntimeError(f"provider {route} -> {status} {answer}")
        return answer

    def cpu_s(self):
        return proc_jiffies(self.proc.pid) / CLK_TCK

    def stop(self):
        self.conn.close()
        stop_process(self.proc, timeout=5)
        self.proc.stdout.close()


def w7_release_curve(c, n, t0, timeout):
    """Polls /metrics from t0 (the reconnect's send) until no run waits. -> ([(ms since
    t0, runs no longer waiting)], ok)."""
    samples = []
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        check_stop()
        counts, _ = metrics(c)
        gone = n - counts.get("waiting", 0)
        samples.append((ms(time.perf_counter() - t0), gone))
        if gone >= n:
            return samples, True
        time.sleep(0.01)
    return samples, False


def w7_quantiles(samples, n):
    """Reconnect -> the q-th run seen out of `waiting`, at the poll's resolution."""
    out = {}
    for name, q in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)):
        need = math.ceil(q * n)
        out[name] = next((t for t, gone in samples if gone >= need), None)
    out["n"] = n
    out["poll_interval_ms_median"] = (statistics.median(
        b[0] - a[0] for a, b in zip(samples, samples[1:])) if len(samples) > 1 else None)
    return out


def w7_check_runs(server, ids, t_reconnect_wall):
    """Every run completed with its API call answered 200; the call step's start after
    the reconnect (server timestamps, ms) as a second view of the release."""
    bad, started = [], []
    for r in get_runs(server, ids, 50, time.monotonic() + 300):
        steps = {s.get("id"): s for s in r.get("steps") or []}
        call = steps.get("call") or {}
        if (r.get("status") != "completed" or (call.get("output") or {}).get("status") != 200
                or r.get("output") != {"ok": True}):
            err = r.get("error") or {}
            bad.append(f"{r.get('status') or r.get('_error')}: {err.get('code')}: "
                       f"{str(err.get('message'))[:120]}")
            continue
        try:
            started.append(rfc3339_ms(call["started_at"]) - t_reconnect_wall * 1000)
        except (KeyError, ValueError, TypeError) as e:
            bad.append(f"timestamps: {e}")
    return bad, started


def w7(server, ctx):
    """W7: 10,000 agent-mode runs held (waiting, reauth) on one connection whose refresh
    fails permanently; one reconnect with a new refresh token releases them all."""
    n = ctx.get("w7_n") or W7_HELD
    provider = OAuthProviderProcess()
    try:
        return w7_with_provider(server, provider, n)
    finally:
        provider.stop()


def w7_with_provider(server, provider, n):
    c = server.conn()
    seeded = provider.control("POST", "seed")
    status, conn = c.request("POST", "/api/v1/connections", {
        "name": W7_CONNECTION, "app": "bench", "oauth2": {
            "token_url": provider.url + "/token", "client_id": "stepwell-test-client",
            "client_secret": "stepwell-test-client-secret",
            "refresh_token": seeded["refresh_token"]}}, retry=False)
    if status != 201:
        raise RuntimeError(f"create connection -> {status} {conn}")
    # The step's timeout is long: 10,000 calls at once queue at the provider (Python, a
    # thread per connection), and their speed is not what W7 measures.
    apply_definitions(server, {"reauth1": {"id": "reauth1", "mode": "agent", "steps": [
        {"id": "call", "type": "http", "timeout": "10m",
         "with": {"method": "GET", "url": provider.url + "/api/w7",
                  "connection": W7_CONNECTION}},
        noop("after", {"ok": True})]}})
    provider.control("POST", "mode", {"token": "invalid_grant"})
    _, m0 = metrics(c)
    mem0 = memory(server.pid)
    pc = phase_cpu_start(server.pid)
    st = start_many(server, "reauth1", n, 50, time.monotonic() + 300)
    held, _, counts, _ = wait_counts(c, lambda k: k.get("waiting", 0) >= len(st["ids"]),
                                     timeout=300, interval=0.025)
    held_s = time.perf_counter() - st["t0"]
    hold_cpu = phase_cpu_end(pc)
    stats_held = provider.control("GET", "stats")
    status, dead = c.request("GET", f"/api/v1/connections/{conn['id']}")
    time.sleep(0.5)  # as W4: let the allocator settle a little before reading memory
    mem1 = memory(server.pid)
    _, m1 = metrics(c)
    out = {"n": n, "started": len(st["ids"]), "start_errors": error_digest(st["errors"]),
           "start_phase_s": round(st["phase_s"], 3), "start_ms": summary(st["latency_ms"]),
           "all_held": held, "counts_when_held": counts,
           "first_start_to_all_held_s": round(held_s, 3),
           "connection_when_held": {"status": dead.get("status"), "error": dead.get("error")}
           if status == 200 else status,
           "token_requests_while_holding": stats_held["token_requests"],
           "api_calls_while_holding": stats_held["api_calls"],
           "store_hold_phase": commit_stats(m0, m1), "hold_phase_cpu": hold_cpu,
           "memory_kib": {"before": mem0, "held": mem1},
           "rss_added_by_held_mib": round((mem1.get("vmrss_kib", 0) - mem0.get("vmrss_kib", 0)) / 1024, 1)}
    if not held:
        out["stuck"] = {s: list_status_ids(c, s) for s in ("pending", "running") if counts.get(s)}
    out.update(w7_release(server, provider, c, conn["id"], st["ids"], m1))
    c.close()
    out["ok"] = bool(held and len(st["ids"]) == n and out.get("all_released")
                     and out.get("all_terminal") and not out["run_errors"]["count"])
    return out


def w7_release(server, provider, c, conn_id, ids, m1):
    """One reconnect (a new refresh token, no access token) and the runs it releases."""
    n = len(ids)
    provider.control("POST", "mode", {"token": "ok"})
    fresh = provider.control("POST", "seed")["refresh_token"]
    before = provider.control("GET", "stats")
    provider_cpu0 = provider.cpu_s()
    pc = phase_cpu_start(server.pid)
    t_wall = time.time()
    t0 = time.perf_counter()
    status, body = c.request("POST", f"/api/v1/connections/{conn_id}/reconnect",
                             {"oauth2": {"refresh_token": fresh}}, retry=False)
    call_ms = ms(time.perf_counter() - t0)
    if status != 200:
        raise RuntimeError(f"reconnect -> {status} {body}")
    samples, released = w7_release_curve(c, n, t0, timeout=120)
    done, _, counts, _ = wait_counts(c, lambda k: sum(k.get(s, 0) for s in TERMINAL) >= n,
                                     timeout=300, interval=0.025)
    done_s = time.perf_counter() - t0
    release_cpu = phase_cpu_end(pc)
    provider_cpu_s = round(provider.cpu_s() - provider_cpu0, 3)
    if isinstance(release_cpu.get("other_cpu_s"), (int, float)):  # the provider is "other"
        release_cpu["other_cpu_s_without_provider"] = round(
            release_cpu["other_cpu_s"] - provider_cpu_s, 2)
    after = provider.control("GET", "stats")
    _, m2 = metrics(c)
    bad, started = w7_check_runs(server, ids, t_wall)
    return {"reconnect_call_ms": call_ms, "all_released": released,
            "reconnect_to_running_ms": w7_quantiles(samples, n),
            "release_curve_samples": len(samples),
            "reconnect_to_call_step_started_ms": summary(started, 0),
            "all_terminal": done, "counts_when_terminal": counts,
            "reconnect_to_all_terminal_s": round(done_s, 3),
            "refresh_grants_during_release": after["refresh_grants"] - before["refresh_grants"],
            "api_calls_during_release": after["api_calls"] - before["api_calls"],
            "api_unauthorized_during_release": after["api_unauthorized"] - before["api_unauthorized"],
            "provider_cpu_s": provider_cpu_s,
            "store_release_phase": commit_stats(m1, m2), "release_phase_cpu": release_cpu,
            "run_errors": error_digest(bad)}


# --------------------------------------------------------------------------- day two


def w10_seed(server, n, k=50):
    """n runs of `search1` (one noop step; input customer_id = i % 1000, region of three)
    and n // 1000 of `fail1` (an http step to a refused target: error.code
    target_not_allowed). -> (start result, seconds until all terminal)."""
    regions = ("eu", "us", "ap")

    def encode(i):
        wf = "fail1" if i % 1000 == 999 else "search1"
        body = {"input": {"customer_id": i % 1000, "region": regions[i % 3]}}
        return server.encode("POST", f"/api/v1/workflows/{wf}/runs", body)

    def handle(_i, status, _ctype, _body, dt):
        return status == 201, dt

    c = server.conn()
    try:
        t0 = time.perf_counter()
        res = run_mux(server, range(n), encode, handle, k, time.monotonic() + max(600.0, n / 500))
        started = sum(1 for r in res if isinstance(r, tuple) and r[0])
        ok, _, _, _ = wait_counts(c, lambda k: sum(k.get(s, 0) for s in TERMINAL) >= started,
                                  timeout=max(300.0, n / 1000), interval=0.5)
        return {"started": started, "all_terminal": ok}, time.perf_counter() - t0
    finally:
        c.close()


def w10(server, ctx):
    """W10: filtered searches over n finished runs (default 1,000,000): each query 200
    times on one connection, latency per query (target p99 <= 20 ms)."""
    n = int(ctx.get("w10_n") or 1000000)
    apply_definitions(server, {
        "search1": {"id": "search1", "steps": [noop("s0", {"ok": True})]},
        "fail1": {"id": "fail1", "steps": [
            {"id": "call", "type": "http", "with": {"method": "GET", "url": "http://127.0.0.1:9/"}}]},
    })
    seeded, seed_s = w10_seed(server, n)
    c = server.conn()
    try:
        _, page = c.request("GET", "/api/v1/runs?limit=1")
        newest = rfc3339_ms(page["items"][0]["created_at"]) if page.get("items") else 0
        # A window of about a thousandth of the runs, a second wide, in the middle.
        mid = utc_iso(newest / 1000 - seed_s / 2)
        mid_end = utc_iso(newest / 1000 - seed_s / 2 + 1)
        queries = {
            "status+workflow": lambda i: "status=completed&workflow_id=search1&limit=50",
            "input field": lambda i: f"input.customer_id={i % 1000}&limit=50",
            "workflow+input+region": lambda i: f"workflow_id=search1&input.customer_id={i % 1000}&input.region=eu&limit=20",
            "error_code": lambda i: "error_code=target_not_allowed&limit=50",
            "created range": lambda i: f"created_after={mid}&created_before={mid_end}&limit=100",
            "finished range+status": lambda i: f"status=completed&finished_after={mid}&finished_before={mid_end}&limit=100",
            "actor": lambda i: "actor=token:admin&limit=50",
        }
        out = {"n": n, "seed": seeded, "seed_s": round(seed_s, 1), "queries": {}}
        all_ms, errors = [], []
        for name, make in queries.items():
            lat, counts = [], []
            for i in range(200):
                check_stop()
                t0 = time.perf_counter()
                status, body = c.request("GET", "/api/v1/runs?" + make(i * 37))
                dt = (time.perf_counter() - t0) * 1000
                if status != 200:
                    errors.append(f"{name}: HTTP {status} {str(body)[:120]}")
                    continue
                lat.append(dt)
                counts.append(len(body.get("items", [])))
            all_ms += lat
            out["queries"][name] = {"ms": summary(lat), "items_mean": round(sum(counts) / len(counts), 1) if counts else 0}
        out["all_ms"] = summary(all_ms)
        out["errors"] = error_digest(errors)
        out["data_dir_bytes"] = server.data_dir_bytes()
        out["ok"] = seeded["all_terminal"] and not errors
        return out
    finally:
        c.close()


def utc_iso(seconds):
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def w11_visible(c, base, n, t0, timeout):
    """Polls the runs count until `base + n` runs exist. -> (ms after t0 at which the
    i-th new run was first seen, for each i < n seen)."""
    seen = []
    end = time.perf_counter() + timeout
    while len(seen) < n and time.perf_counter() < end:
        check_stop()
        counts, _ = metrics(c)
        now_ms = (time.perf_counter() - t0) * 1000
        total = sum(counts.values()) - base
        seen += [now_ms] * max(0, min(total, n) - len(seen))
        time.sleep(0.002)
    return seen


def w11_settle(c, runs, timeout):
    """Waits until `runs` runs exist and none is active: what a minute of real time
    between two ticks gives (the tick's runs have ended before the next comes due)."""
    end = time.perf_counter() + timeout
    while time.perf_counter() < end:
        check_stop()
        counts, _ = metrics(c)
        active = sum(counts.get(s, 0) for s in ("pending", "running", "waiting", "paused"))
        if sum(counts.values()) >= runs and active == 0:
            return
        time.sleep(0.01)
    raise RuntimeError(f"W11: the tick's runs did not end within {timeout} s")


def w11(server, ctx):
    """W11: schedules ("* * * * *") firing every minute over `ticks` minutes of fake-clock
    time. Lateness: from sending the clock advance that made a tick due to the run being
    seen (polled every ~2 ms, so an upper bound). The next tick is advanced to once the
    tick's runs have ended, as they have a minute later in real time. Then every schedule must have exactly one
    run per tick (missed and doubled ticks counted from the runs' triggers)."""
    n = int(ctx.get("w11_n") or 1000)
    ticks = int(ctx.get("w11_ticks") or 10)
    apply_definitions(server, {"noop1": definitions()["noop1"]})
    c = server.conn()
    try:
        ids = []
        for _ in range(n):
            status, body = c.request("POST", "/api/v1/schedules",
                                     {"workflow_id": "noop1", "cron": "* * * * *"}, retry=False)
            if status != 201:
                raise RuntimeError(f"POST schedule -> {status} {body}")
            ids.append(body["id"])
        status, body = c.request("POST", "/api/v1/testing/clock/advance", {"ms": 0}, retry=False)
        if status != 200:
            raise RuntimeError(f"clock advance -> {status} {body} (needs --fake-clock)")
        now = rfc3339_ms(body["now"])
        step = 60000 - now % 60000 + 5  # just past the next minute
        lateness, per_tick, expected = [], [], set()
        for t in range(ticks):
            counts, _ = metrics(c)
            base = sum(counts.values())
            t0 = time.perf_counter()
            status, body = c.request("POST", "/api/v1/testing/clock/advance", {"ms": step}, retry=False)
            if status != 200:
                raise RuntimeError(f"clock advance -> {status} {body}")
            tick = rfc3339_ms(body["now"]) // 60000 * 60000
            expected.add(tick)
            seen = w11_visible(c, base, n, t0, timeout=30)
            lateness += seen
            w11_settle(c, base + n, timeout=30)
            per_tick.append({"tick": utc_iso(tick / 1000), "fired": len(seen),
                             "all_seen_ms": round(seen[-1], 1) if seen else None})
            step = 60000
        runs = []
        cursor = ""
        while True:
            status, page = c.request("GET", "/api/v1/runs?workflow_id=noop1&limit=500" + cursor)
            if status != 200:
                raise RuntimeError(f"list runs -> {status} {page}")
            runs += page["items"]
            if not page.get("next_cursor"):
                break
            cursor = "&cursor=" + page["next_cursor"]
        by_schedule = {sid: [] for sid in ids}
        for r in runs:
            trig = r.get("trigger") or {}
            by_schedule.setdefault(trig.get("schedule_id"), []).append(rfc3339_ms(trig.get("scheduled_at")))
        missed = sum(len(expected - set(v)) for sid, v in by_schedule.items() if sid in ids)
        doubled = sum(len(v) - len(set(v)) for v in by_schedule.values())
        stray = sum(1 for v in by_schedule.values() for x in v if x not in expected)
        return {"schedules": n, "ticks": ticks, "fires": len(lateness), "lateness_ms": summary(lateness),
                "per_tick": per_tick, "runs": len(runs), "missed": missed, "doubled": doubled,
                "stray": stray,
                "ok": missed == 0 and doubled == 0 and stray == 0 and len(lateness) == n * ticks}
    finally:
        c.close()


WORKLOADS = {
    "W1": (w1, BREAKER_HIGH),
    "W2": (lambda s, ctx: w2(s, ctx, 1000), BREAKER_HIGH),
    "W2x10k": (lambda s, ctx: w2(s, ctx, 10000), BREAKER_HIGH),
    "W2s": (lambda s, ctx: w2(s, ctx, 10000, spend=True), BREAKER_HIGH),
    "W3a": (w3a, BREAKER_HIGH),
    "W3b": (w3b, ["--allow-private-targets", "--allow-shell"] + BREAKER_HIGH),
    "W4": (w4, BREAKER_HIGH),
    "W4x": (w4x, BREAKER_HIGH),
    "W9": (w9, BREAKER_HIGH),
    "W5": (w5, BREAKER_HIGH),
    "W6": (w6, BREAKER_HIGH),
    "W7": (w7, ["--allow-private-targets"] + BREAKER_HIGH),
    "W8": (w8, []),
    "W12": (w12, BREAKER_HIGH),
    "W10": (w10, BREAKER_HIGH),
    "W11": (w11, ["--fake-clock"] + BREAKER_HIGH),
    "takeover": (lambda s, ctx: pg.takeover(s, ctx), ["--allow-private-targets"] + BREAKER_HIGH),
}

# --------------------------------------------------------------------------- disk


def measure_disk(directory, seconds=1.0):
    out = {"dir": str(directory)}
    d = tempfile.mkdtemp(prefix="stepwell-bench-disk-", dir=directory)
    try:
        path = os.path.join(d, "fsync.bin")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        block = os.urandom(4096)
        n = 0
        t0 = time.perf_counter()
        try:
            while n < 200000 and time.perf_counter() - t0 < seconds:
                os.write(fd, block)
                os.fdatasync(fd)
                n += 1
        finally:
            os.close(fd)
        dt = time.perf_counter() - t0
        out["fdatasync_per_s"] = round(n / dt, 1)
        out["fdatasync_mean_ms"] = round(dt / n * 1000, 3) if n else None
        for sync in ("FULL", "NORMAL"):
            db = sqlite3.connect(os.path.join(d, f"t-{sync}.db"), isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute(f"PRAGMA synchronous={sync}")
                db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
                payload = os.urandom(200)
                n = 0
                t0 = time.perf_counter()
                while n < 500000 and time.perf_counter() - t0 < seconds:
                    db.execute("BEGIN")
                    db.execute("INSERT INTO t (v) VALUES (?)", (payload,))
                    db.execute("COMMIT")
                    n += 1
                dt = time.perf_counter() - t0
                out[f"sqlite_{sync.lower()}_commits_per_s"] = round(n / dt, 1)
            finally:
                db.close()
    finally:
        shutil.rmtree(d, ignore_errors=True)
    out["sqlite_version"] = sqlite3.sqlite_version
    return out


# --------------------------------------------------------------------------- report


def fmt(x, unit=""):
    if x is None:
        return "-"
    if isinstance(x, float):
        x = f"{x:,.1f}" if abs(x) >= 100 else f"{x:.2f}"
    elif isinstance(x, int):
        x = f"{x:,}"
    return f"{x}{unit}"


def signed(x, unit=""):
    """fmt with an explicit sign: +1.20 / -0.80."""
    if x is None:
        return "-"
    return ("+" if x >= 0 else "") + fmt(x, unit)


def headline(workload, r, store="sqlite", disk=None):
    """-> list of (metric, our value string, pass/fail or ''); on PostgreSQL the W1 and W2
    targets are issue 15's (pg.TARGETS). On SQLite W1 and W3a are held against the disk's
    fdatasync measured in the same invocation (issue 18), or WORKLOADS.md's nominal 0.2 ms
    without one (--no-disk)."""
    fsync_ms = (disk or {}).get("fdatasync_mean_ms") or W_NOMINAL_FDATASYNC_MS
    w2_steps = pg.TARGETS["W2_steps_per_s"] if store == "postgres" else 20000
    if "exception" in r:
        return [("error", r["exception"].splitlines()[-1][:60], "FAIL")]
    rows = []
    flag = lambda cond: "" if cond is None else ("ok" if cond else "MISS")  # noqa: E731
    if workload == "W1":
        f, s = r["full_ms"], r["start_ms"]
        # Two commits (create; the step and the completion), or one when the start answered
        # the run completed already (its pure first steps rode in the create commit).
        commits = 1 if f.get("n") and r.get("start_answered_completed") == f["n"] else 2
        if store == "postgres":
            met = f.get("n") and f["p50"] <= pg.TARGETS["W1_p50_ms"]
        else:
            met = f.get("n") and f["p50"] <= 1.2 * commits * fsync_ms and f["p99"] <= 1.0
        rows.append(("p50 / p99 ms", f"{fmt(f.get('p50'))} / {fmt(f.get('p99'))}", flag(met)))
        rows.append((f"p50 in fdatasyncs (target <= {1.2 * commits:.1f})",
                     fmt(f["p50"] / fsync_ms) if f.get("n") else "-", ""))
        rows.append(("start alone p50 / p99 ms", f"{fmt(s.get('p50'))} / {fmt(s.get('p99'))}", ""))
    elif workload in ("W2", "W2x10k", "W2s"):
        rows.append(("steps/s", fmt(r.get("steps_per_s")),
                     flag(r.get("steps_per_s") is not None and r["steps_per_s"] >= w2_steps and r["ok"])))
        rows.append(("wf/s; completed/n", f"{fmt(r.get('wf_per_s'))}; {r['completed']}/{r['n']}", ""))
        rows.append(("x SQLite FULL commits/s", fmt(r.get("steps_per_s_over_sqlite_full_commits_per_s")), ""))
        rows.append(("start phase s; mean batch", f"{fmt(r['start_phase_s'])}; {fmt(r['store']['mean_batch_size'])}", ""))
    elif workload == "W3a":
        if not r.get("cancel_to_terminal_ms"):
            rows.append(("error", str(r.get("error")), "FAIL"))
        else:
            t, c = r["cancel_to_terminal_ms"], r["cancel_call_ms"]
            rows.append(("p50 / p99 ms", f"{fmt(t.get('p50'))} / {fmt(t.get('p99'))}",
                         flag(t.get("n") and t["p50"] <= 1.5 * fsync_ms and t["p99"] <= 0.8)))
            rows.append(("p50 in fdatasyncs (target <= 1.5)",
                         fmt(t["p50"] / fsync_ms) if t.get("n") else "-", ""))
            rows.append(("cancel call p50 / p99 ms", f"{fmt(c.get('p50'))} / {fmt(c.get('p99'))}", ""))
    elif workload == "W3b":
        for variant in ("http", "shell"):
            v = r.get(variant, {})
            if "skipped" in v:
                why = "not supported" if "not supported" in v["skipped"] else v["skipped"]
                rows.append((f"{variant}: skipped", why[:30], ""))
            elif "error" in v:
                rows.append((f"{variant}: error", v["error"][:30], "FAIL"))
            elif v:
                stopped = v.get("cancel_to_work_stopped_ms")
                rows.append((f"{variant}: work stopped after cancel ms", fmt(stopped),
                             flag(stopped is not None and stopped <= 10)))
                rows.append((f"{variant}: cancel->terminal ms", fmt(v.get("cancel_to_terminal_ms")), ""))
    elif workload == "W4":
        rows.append(("10k parked / cancel all s",
                     f"{fmt(r.get('first_start_to_all_parked_s'))} / {fmt(r.get('first_cancel_to_all_terminal_s'))}",
                     flag(r.get("ok") and r["first_start_to_all_parked_s"] <= 3
                          and r["first_cancel_to_all_terminal_s"] <= 2)))
        rows.append(("memory added (PSS / RSS)",
                     f"{signed(r.get('pss_added_by_parked_mib'))} / {signed(r.get('rss_added_by_parked_mib'))} MiB",
                     flag(r.get("pss_added_by_parked_mib") is not None and r["pss_added_by_parked_mib"] <= 30)))
    elif workload == "W9":
        rows.append((f"{fmt(r.get('n'))} parked: bulk cancel s",
                     fmt(r.get("request_to_all_cancelled_s")),
                     flag(r.get("ok") and r["request_to_all_cancelled_s"] <= W9_TARGET_S)))
        rows.append(("operation created->finished s",
                     fmt(r.get("operation_created_to_finished_s")), ""))
    elif workload == "W4x":
        n = r.get("n") or 0
        tgt = W4X_MIB_PER_100K * n / 100000
        rows.append((f"{n:,} parked s (start phase s)",
                     f"{fmt(r.get('first_start_to_all_parked_s'))} ({fmt(r.get('start_phase_s'))})", ""))
        ans, noop = r.get("restart_to_answer_s"), r.get("restart_to_noop_completed_s")
        rows.append(("restart: answers / noop1 done s", f"{fmt(ans)} / {fmt(noop)}",
                     flag(noop is not None and noop <= W4X_RESTART_TARGET_S)))
        rows.append((f"memory added (PSS/RSS; tgt +{tgt:,.0f})",
                     f"{signed(r.get('pss_added_by_parked_mib'))} / {signed(r.get('rss_added_by_parked_mib'))} MiB",
                     flag(r.get("pss_added_by_parked_mib") is not None and r["pss_added_by_parked_mib"] <= tgt)))
        rows.append(("after restart PSS (vs before)",
                     f"{fmt(r.get('pss_after_restart_mib'))} ({signed(r.get('pss_after_restart_vs_before_mib'))}) MiB", ""))
        rows.append(("waiting after restart", f"{fmt(r.get('waiting_after_restart'))}/{fmt(n)}",
                     flag(r.get("waiting_after_restart_ok"))))
    elif workload == "W5":
        lt = r["lateness_ms"]
        rows.append(("lateness p50 / p99 / max ms",
                     f"{fmt(lt.get('p50'))} / {fmt(lt.get('p99'))} / {fmt(lt.get('max'))}",
                     flag(lt.get("n") and lt["p50"] <= 5 and lt["p99"] <= 25 and r["early_wakeups"] == 0)))
        rows.append(("early wake-ups; completed", f"{r['early_wakeups']}; {lt.get('n', 0)}/{r['n']}", ""))
    elif workload == "W6":
        t, c = r.get("decision_to_completed_ms") or {}, r.get("decision_call_ms") or {}
        rows.append((f"decision->completed p50 / p99 ms ({r.get('await')})",
                     f"{fmt(t.get('p50'))} / {fmt(t.get('p99'))}",
                     flag(r.get("ok") and t.get("n") and t["p50"] <= 2 and t["p99"] <= 10)))
        rows.append(("decision call p50 / p99 ms", f"{fmt(c.get('p50'))} / {fmt(c.get('p99'))}", ""))
        pss, rss = r.get("pss_added_by_parked_mib"), r.get("rss_added_by_parked_mib")
        rows.append(("10k approvals: memory (PSS / RSS)", f"{signed(pss)} / {signed(rss)} MiB",
                     flag(pss is not None and rss is not None and max(pss, rss) <= 30)))
        rows.append(("10k approvals: parked s", fmt(r.get("first_start_to_all_parked_s")), ""))
    elif workload == "W12":
        a, b = r.get("w1_full_ms") or {}, r.get("w3a_cancel_to_terminal_ms") or {}
        bg = r.get("background_steps_per_s")
        rows.append(("background steps/s", fmt(bg), flag(bg is not None and bg >= 25000)))
        rows.append(("W1 p50 / p99 ms", f"{fmt(a.get('p50'))} / {fmt(a.get('p99'))}",
                     flag(r.get("ok") and a.get("n") and a["p99"] <= 5)))
        rows.append(("W3a p50 / p99 ms", f"{fmt(b.get('p50'))} / {fmt(b.get('p99'))}",
                     flag(r.get("ok") and b.get("n") and b["p99"] <= 5)))
    elif workload == "W10":
        a = r.get("all_ms") or {}
        rows.append((f"{r.get('n', 0):,} runs: search p50 / p99 ms", f"{fmt(a.get('p50'))} / {fmt(a.get('p99'))}",
                     flag(r.get("ok") and a.get("n") and a["p99"] <= 20)))
        for name, q in (r.get("queries") or {}).items():
            rows.append((f"  {name[:30]}", f"{fmt(q['ms'].get('p50'))} / {fmt(q['ms'].get('p99'))}", ""))
    elif workload == "W11":
        lt = r.get("lateness_ms") or {}
        rows.append(("fire lateness p50 / p99 ms", f"{fmt(lt.get('p50'))} / {fmt(lt.get('p99'))}",
                     flag(r.get("ok") and lt.get("n") and lt["p99"] <= 50)))
        rows.append(("missed / doubled ticks", f"{r.get('missed')} / {r.get('doubled')}",
                     flag(r.get("missed") == 0 and r.get("doubled") == 0)))
    elif workload == "W8":
        v = r.get("limit_to_visible_ms")
        rows.append(("steps past the limit", str(r.get("past_limit")),
                     flag(r.get("ok") and r.get("past_limit") == 0)))
        rows.append(("limit -> paused_safety visible ms", fmt(v),
                     flag(v is not None and v <= 10)))
    elif workload == "takeover":
        f = r.get("kill_to_next_step_finished_ms")
        rows.append(("kill -9 -> next step finished ms", fmt(f),
                     flag(r.get("ok") and f is not None and f <= pg.TARGETS["takeover_ms"])))
        rows.append(("kill -9 -> step running again ms", fmt(r.get("kill_to_step_rerun_ms")), ""))
    elif workload == "W7":
        t = r.get("reconnect_to_running_ms") or {}
        grants = r.get("refresh_grants_during_release")
        rows.append(("reconnect->running p50 / p99 ms", f"{fmt(t.get('p50'))} / {fmt(t.get('p99'))}",
                     flag(r.get("ok") and t.get("p99") is not None and t["p99"] <= W7_P99_TARGET_MS)))
        rows.append(("refresh grants during release", fmt(grants), flag(grants == 1)))
        rows.append((f"{r.get('n') or 0:,} held s; reconnect->all ended s",
                     f"{fmt(r.get('first_start_to_all_held_s'))}; {fmt(r.get('reconnect_to_all_terminal_s'))}", ""))
    return rows


def print_report(doc):
    print()
    print(f"Stepwell bench  commit {doc['git']['commit'][:12]}{' (dirty)' if doc['git']['dirty'] else ''}"
          f"  store {doc['store']}  {doc['started_at']}")
    d = doc.get("disk") or {}
    if d:
        print(f"disk: fdatasync {fmt(d.get('fdatasync_per_s'))}/s, SQLite WAL FULL "
              f"{fmt(d.get('sqlite_full_commits_per_s'))} commits/s, NORMAL "
              f"{fmt(d.get('sqlite_normal_commits_per_s'))}/s")
    for run in (doc.get("pgbench") or {}).get("runs", []):
        print(f"pgbench -N (simple update), {run['clients']} client(s), {run['seconds']} s: "
              f"{fmt(run['tps'])} tps")
    print()
    print("Peers (best figures, WORKLOADS.md):")
    print(f"  {'workload':8} {'metric':28} {'OpenWorkflow':>14} {'DBOS':>14} {'Restate':>16} {'target':>22}")
    for w, metric, ow, dbos, rs, tgt in PEERS:
        print(f"  {w:8} {metric:28} {ow:>14} {dbos:>14} {rs:>16} {tgt:>22}")
    print()
    print("Stepwell:")
    print(f"  {'workload':8} {'rep':>3}  {'metric':34} {'value':>30}  {'vs target':9} {'load start->end':>16} {'other CPU s':>11}")
    for res in doc["results"]:
        rows = headline(res["workload"], res["result"], doc.get("store", "sqlite"), doc.get("disk"))
        cpu = res.get("cpu") or {}
        load = f"{cpu.get('loadavg_start', ['?'])[0]}->{cpu.get('loadavg_end', ['?'])[0]}"
        other = fmt(cpu.get("other_processes_cpu_s"))
        name = res["workload"] + (f" x{res['instances']}" if res.get("instances", 1) > 1 else "")
        for i, (metric, value, flag) in enumerate(rows):
            print(f"  {name if i == 0 else '':8} {res['repeat'] if i == 0 else '':>3}  "
                  f"{metric:34} {value:>30}  {flag:9} {load if i == 0 else '':>16} {other if i == 0 else '':>11}")
    print()


# --------------------------------------------------------------------------- main


def git_info():
    def run(*args):
        try:
            return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    status = run("status", "--porcelain", "--untracked-files=no")
    return {"commit": run("rev-parse", "HEAD") or "unknown", "dirty": bool(status),
            "modified_files": len(status.splitlines()) if status else 0}


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_workloads(text, store="sqlite"):
    out = []
    default = PG_DEFAULT_WORKLOADS if store == "postgres" else ALL_WORKLOADS[:-1]
    for part in (text or ",".join(default)).split(","):
        part = part.strip()
        match = next((w for w in ALL_WORKLOADS if w.lower() == part.lower()), None)
        if match is None:
            raise SystemExit(f"unknown workload {part!r}; choose from {', '.join(ALL_WORKLOADS)}")
        if match not in out:
            out.append(match)
    return out


def workload_instances(workload, counts):
    """The instance counts a workload runs with: the takeover needs two, once."""
    if workload == "takeover":
        return [max(2, max(counts))]
    return counts


def start_servers(binary, args, flags, pg_store, n, workload):
    """One server on a fresh data directory (SQLite), or n instances on a fresh PostgreSQL
    database."""
    if pg_store is None:
        return Server(binary, args.tmp_dir, flags, keep=args.keep_data)
    url = pg_store.new_database(workload)
    if n == 1:
        return Server(binary, args.tmp_dir, flags, keep=args.keep_data, store=url)
    return pg.Instances(Server, binary, args.tmp_dir, flags, args.keep_data, url, n)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", "-w", help=f"comma list of {', '.join(ALL_WORKLOADS)} (default: all)")
    ap.add_argument("--repeat", "-r", type=int, default=2, help="runs of each workload (default 2)")
    ap.add_argument("--binary", default=os.environ.get("STEPWELL_BIN", str(REPO / "build" / "stepwell")))
    ap.add_argument("--tmp-dir", default=tempfile.gettempdir(),
                    help="where the fresh data directories go (and the disk is measured)")
    ap.add_argument("--keep-data", action="store_true", help="keep the data directories")
    ap.add_argument("--no-disk", action="store_true", help="skip the fdatasync/SQLite measurement")
    ap.add_argument("--out", help="result file (default bench/results/<UTC>-<workloads>.json)")
    ap.add_argument("--w4x-n", type=int, default=100000,
                    help="parked runs in W4x (default 100000, the spec's figure)")
    ap.add_argument("--w12-steps-per-s", type=int, default=W12_STEPS_PER_S,
                    help=f"W12: the background load's rate in steps/s (steps10 runs started at a "
                         f"tenth of it; default {W12_STEPS_PER_S:,})")
    ap.add_argument("--w10-n", type=int, default=1000000,
                    help="finished runs W10 searches over (default 1,000,000, the issue's figure)")
    ap.add_argument("--w11-n", type=int, default=1000, help="schedules in W11 (default 1000)")
    ap.add_argument("--w7-n", type=int, default=W7_HELD,
                    help=f"held runs in W7 (default {W7_HELD})")
    ap.add_argument("--w6-await", choices=("wait", "poll"), default="wait",
                    help="W6: after a decision, one long-poll GET ?wait_ms=5000 (wait, default) "
                         "or GET the run until completed (poll)")
    ap.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite",
                    help="postgres: one throw-away cluster (tests/support/pg_cluster.py), a "
                         "fresh database for every server start, pgbench beside the figures")
    ap.add_argument("--instances", help="comma list of instance counts to run each workload "
                    "with, on one database (postgres only; default 1,2)")
    args = ap.parse_args()
    workloads = parse_workloads(args.workload, args.store)
    repeat = max(1, min(args.repeat, 20))
    if args.store == "sqlite" and args.instances not in (None, "1"):
        raise SystemExit("--instances needs --store postgres")
    try:
        counts = sorted({max(1, min(int(x), 8)) for x in (args.instances or "1,2").split(",")})
    except ValueError:
        raise SystemExit(f"--instances {args.instances!r}: want a comma list of numbers") from None
    if args.store == "sqlite":
        counts = [1]

    binary = os.path.abspath(args.binary)
    if not os.access(binary, os.X_OK):
        raise SystemExit(f"{binary} not found; build it: ninja -C build -j2 stepwell")

    def on_signal(signum, _frame):
        STOP.set()
        raise KeyboardInterrupt(f"signal {signum}")
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    tag = "pg-" if args.store == "postgres" else ""
    out_path = Path(args.out) if args.out else RESULTS_DIR / f"{stamp}-{tag}{'-'.join(workloads)}.json"
    # Copy the binary: others may rebuild build/stepwell while we run.
    bin_dir = tempfile.mkdtemp(prefix="stepwell-bench-bin-", dir=args.tmp_dir)
    doc = {"started_at": utc_now(), "git": git_info(), "store": args.store, "instances": counts,
           "binary": {"path": binary, "mtime": time.strftime(
               "%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.path.getmtime(binary)))},
           "host": {"cpus": os.cpu_count(), "uname": " ".join(os.uname()),
                    "python": sys.version.split()[0]},
           "driver": {"bulk": DRIVER, "sequential": "raw socket"},
           "loadavg_start": loadavg(), "workloads": workloads, "repeat": repeat,
           "disk": None, "results": []}
    pg_store = None
    try:
        bin_copy = os.path.join(bin_dir, "stepwell")
        shutil.copy2(binary, bin_copy)
        doc["binary"]["sha256"] = sha256_file(bin_copy)
        if not args.no_disk:
            print("measuring the disk (fdatasync, SQLite FULL/NORMAL) ...", flush=True)
            doc["disk"] = measure_disk(args.tmp_dir)
            print(f"  {doc['disk']}", flush=True)
        if args.store == "postgres":
            print("starting PostgreSQL; pgbench -N ...", flush=True)
            pg_store = pg.PgStore()
            doc["postgres"] = pg_store.describe()
            doc["pgbench"] = pg.measure_pgbench(pg_store)
            print(f"  {doc['pgbench']}", flush=True)
        ctx = {"disk": doc["disk"], "w4x_n": max(1, args.w4x_n), "w6_await": args.w6_await,
               "w7_n": max(1, args.w7_n), "w10_n": max(1000, args.w10_n),
               "w11_n": max(1, args.w11_n), "w12_steps_per_s": max(10, args.w12_steps_per_s),
               "run": sys.modules[__name__]}
        for w, n_inst, rep in ((w, n, r) for w in workloads for n in workload_instances(w, counts)
                               for r in range(1, repeat + 1)):
            fn, flags = WORKLOADS[w]
            check_stop()
            print(f"{w} x{n_inst} #{rep} ...", flush=True)
            entry = {"workload": w, "repeat": rep, "started_at": utc_now(),
                     "git_commit": doc["git"]["commit"], "store": args.store,
                     "instances": n_inst, "server_flags": flags, "driver": DRIVER}
            if w == "W4x":
                entry["w4x_n"] = ctx["w4x_n"]
            if w == "W7":
                entry["w7_n"] = ctx["w7_n"]
            if w in ("W10", "W11"):
                entry["n"] = ctx[w.lower() + "_n"]
            for key in DRIVER_STATS:
                DRIVER_STATS[key] = 0
            server = None
            try:
                server = start_servers(bin_copy, args, flags, pg_store, n_inst, w)
                entry["server_startup_s"] = round(server.startup_s, 3)
                entry["data_dir"] = server.data_dir
                cpu = CpuWindow(server)
                pg0 = pg_store.cpu_jiffies() if pg_store else None
                try:
                    entry["result"] = fn(server, ctx)
                finally:
                    entry["cpu"] = cpu.finish()
                    if pg_store:
                        entry["cpu"]["postgres_cpu_s"] = round(
                            (pg_store.cpu_jiffies() - pg0) / CLK_TCK, 2)
                    entry["server_alive_after"] = server.alive()
                    entry["server_log_problems"] = server.log_problems()
            except (KeyboardInterrupt, Aborted):
                entry["result"] = {"exception": "interrupted", "ok": False}
                raise
            except Exception:  # noqa: BLE001 - recorded, next workload runs
                entry["result"] = {"exception": traceback.format_exc(), "ok": False}
                if server is not None:
                    entry["server_log_tail"] = server.log_tail()
                print(entry["result"]["exception"], file=sys.stderr)
            finally:
                entry["driver_stats"] = dict(DRIVER_STATS)
                if server is not None:
                    entry["server_exit_code"] = server.stop()
                entry["finished_at"] = utc_now()
                doc["results"].append(entry)
            brief = {k: v for k, v in entry["result"].items()
                     if k in ("ok", "full_ms", "steps_per_s", "wf_per_s", "cancel_to_terminal_ms",
                              "first_start_to_all_parked_s", "first_cancel_to_all_terminal_s",
                              "pss_added_by_parked_mib", "lateness_ms", "early_wakeups", "http", "shell",
                              "restart_to_answer_s", "restart_to_noop_completed_s",
                              "pss_after_restart_vs_before_mib", "waiting_after_restart",
                              "decision_to_completed_ms", "rss_added_by_parked_mib",
                              "reconnect_to_running_ms", "refresh_grants_during_release",
                              "kill_to_next_step_finished_ms", "kill_to_step_rerun_ms",
                              "background_steps_per_s", "w1_full_ms", "w3a_cancel_to_terminal_ms")}
            print(f"  {json.dumps(brief)}  cpu={json.dumps(entry.get('cpu', {}))}", flush=True)
    except KeyboardInterrupt:
        STOP.set()
        doc["interrupted"] = True
        print("\ninterrupted; stopping", file=sys.stderr)
    finally:
        STOP.set()
        stop_all()
        if pg_store:
            pg_store.stop()
        shutil.rmtree(bin_dir, ignore_errors=True)
        doc["finished_at"] = utc_now()
        doc["loadavg_end"] = loadavg()
        out_path.parent.mkdir(parents=True, exist_ok=True)
        with open(out_path, "w") as f:
            json.dump(doc, f, indent=1)
        print_report(doc)
        print(f"results: {out_path}")
    return 1 if doc.get("interrupted") else 0


if __name__ == "__main__":
    sys.exit(main())
