#!/usr/bin/env python3
"""A small Stepwell agent: claims tasks from agent queues and works on them.

Python standard library only. It is meant to be read: copy it and replace `do_work`
with what your agent really does. The protocol is described in docs/agents.md.

    python3 examples/agent.py --url http://127.0.0.1:8420 --token sw_... --queue reviews

Options:
  --url URL         the Stepwell server (default http://127.0.0.1:8420)
  --token TOKEN     a token with role `agent` (default: the STEPWELL_TOKEN variable)
  --queue NAME      a queue to take tasks from; repeat for several queues
  --agent-id ID     this agent's name (default: agent-<host>-<pid>)
  --once            wait for one task, handle it, then exit
  --wait-ms N       how long one claim waits for a task (default 30000)

The example "work" looks at the task's input:
  {"sleep": 5}         sleeps 5 seconds, heartbeating while it does, and stops early
                       when the server says the task was cancelled
  {"fail": "message"}  reports a failure (retryable unless "retryable": false is given)
  anything else        completes with {"echo": <input>, "agent_id": <id>}

One line is printed per task.
"""

import argparse
import json
import os
import socket
import sys
import time
import urllib.error
import urllib.request

HEARTBEAT_EVERY = 5.0  # seconds; the lease is 30 s, so this leaves plenty of margin


class Cancelled(Exception):
    """The server told us the task is no longer ours (run ended or lease lost)."""


class Client:
    """The four calls of the agent protocol."""

    def __init__(self, url, token, agent_id):
        self.url = url.rstrip("/")
        self.token = token
        self.agent_id = agent_id

    def _post(self, path, body, timeout):
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode("utf-8"), method="POST",
            headers={"Authorization": f"Bearer {self.token}",
                     "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data = response.read()
            return response.status, (json.loads(data) if data else None)

    def claim(self, queues, wait_ms):
        """A task dict, or None when nothing came within wait_ms (204)."""
        status, body = self._post(
            "/api/v1/agents/claim",
            {"agent_id": self.agent_id, "queues": queues, "wait_ms": wait_ms},
            timeout=wait_ms / 1000 + 30)
        return body["task"] if status == 200 else None

    def heartbeat(self, task_id):
        """Extends the lease; True when the task was cancelled (stop working on it)."""
        _, body = self._post(f"/api/v1/agent-tasks/{task_id}/heartbeat",
                             {"agent_id": self.agent_id}, timeout=30)
        return body["cancelled"]

    def complete(self, task_id, output):
        """True when the result was discarded (the run ended meanwhile)."""
        _, body = self._post(f"/api/v1/agent-tasks/{task_id}/complete",
                             {"agent_id": self.agent_id, "output": output}, timeout=30)
        return body["discarded"]

    def fail(self, task_id, message, retryable=True):
        _, body = self._post(
            f"/api/v1/agent-tasks/{task_id}/fail",
            {"agent_id": self.agent_id,
             "error": {"message": message, "retryable": retryable}}, timeout=30)
        return body["discarded"]


class TaskFailed(Exception):
    def __init__(self, message, retryable=True):
        super().__init__(message)
        self.retryable = retryable


def do_work(client, task):
    """The example's work. Returns the output, or raises TaskFailed / Cancelled."""
    data = task["input"] if isinstance(task["input"], dict) else {}
    if "fail" in data:
        raise TaskFailed(str(data["fail"]), retryable=data.get("retryable", True) is not False)
    if "sleep" in data:
        # Long work: do it in slices and heartbeat every few seconds, so the lease never
        # lapses and a cancelled run is noticed quickly.
        end = time.monotonic() + float(data["sleep"])
        last_beat = time.monotonic()
        while time.monotonic() < end:
            time.sleep(min(0.2, max(0.0, end - time.monotonic())))
            if time.monotonic() - last_beat >= HEARTBEAT_EVERY:
                last_beat = time.monotonic()
                if client.heartbeat(task["id"]):
                    raise Cancelled()
    return {"echo": task["input"], "agent_id": client.agent_id}


def handle(client, task):
    """Runs one task and reports its result; returns the line to print."""
    where = f"task {task['id']} (run {task['run_id']}, step {task['step_id']}, " \
            f"attempt {task['attempt']})"
    try:
        output = do_work(client, task)
    except Cancelled:
        return f"{where}: cancelled by the server, stopped"
    except TaskFailed as failure:
        discarded = client.fail(task["id"], str(failure), failure.retryable)
        return f"{where}: failed: {failure}" + (" (discarded)" if discarded else "")
    discarded = client.complete(task["id"], output)
    return f"{where}: " + ("result discarded, the run had ended" if discarded else "completed")


def main(argv=None):
    parser = argparse.ArgumentParser(description="An example Stepwell agent.")
    parser.add_argument("--url", default="http://127.0.0.1:8420")
    parser.add_argument("--token", default=os.environ.get("STEPWELL_TOKEN"))
    parser.add_argument("--queue", action="append", required=True, dest="queues")
    parser.add_argument("--agent-id", default=f"agent-{socket.gethostname()}-{os.getpid()}")
    parser.add_argument("--once", action="store_true")
    parser.add_argument("--wait-ms", type=int, default=30000)
    args = parser.parse_args(argv)
    if not args.token:
        parser.error("--token or STEPWELL_TOKEN is required")

    client = Client(args.url, args.token, args.agent_id)
    print(f"{args.agent_id}: waiting for tasks on {', '.join(args.queues)}", flush=True)
    while True:
        try:
            task = client.claim(args.queues, args.wait_ms)
            if task is None:
                continue  # nothing came within wait_ms: claim again
            print(handle(client, task), flush=True)
        except urllib.error.HTTPError as err:
            # 4xx: our request or token is wrong; retrying will not help.
            print(f"error: HTTP {err.code}: {err.read().decode('utf-8', 'replace')}",
                  file=sys.stderr, flush=True)
            if 400 <= err.code < 500:
                return 1
            time.sleep(1)
            continue
        except (urllib.error.URLError, OSError) as err:
            # The server is down or restarting: try again in a moment.
            print(f"error: {err}", file=sys.stderr, flush=True)
            time.sleep(1)
            continue
        if args.once:
            return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
