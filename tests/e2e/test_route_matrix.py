"""The route × principal matrix: every route of the server's route table against eight
principals, each cell checked against the class of answer the contract (API.md
"Conventions", "Server, workspaces and tokens") gives it.

The routes come from the route table itself: `route_list` (tests/api/route_list.cc,
built beside the tests; STEPWELL_ROUTE_LIST, else build/tests/route_list) prints
ApiRoutes(), so a route added to the table without a row in MATRIX below fails
test_every_route_has_a_row, and a row left behind by a route that is gone fails it too.
The web UI, which answers every path outside /api/ that no route has, has rows of its
own (UI_ROWS).

A cell's answer class:
  401  unauthenticated (`unauthorized`): no token, or one the server does not know;
  403  forbidden (`forbidden`): a valid token whose role is not enough for the route;
  404  hidden (`not_found`): a token of another workspace naming an object of this one;
  ok   allowed: anything but 401 and 403 (a 400, 404 or 409 from the handler is fine:
       the gate let the request through); from this workspace a scoped route's object
       is found (not 404), and no cell answers 5xx.
A refused request other than a GET leaves the audit log of both workspaces as it was.
The objects the paths name are real objects of the workspace `default`, made in
setUpClass (a DELETE row names an object of its own); in each row the other
workspace's principals come before this workspace's, whose allowed requests may change
the object.
"""

import os
import secrets
import subprocess
import sys
import unittest
from pathlib import Path

from harness import REPO_ROOT, E2ETestCase, noop, scaled, wait_until

# The eight principals, in the order each row is walked.
PRINCIPALS = ("none", "bad", "other_admin", "other_agent", "agent", "viewer", "operator",
              "admin")
OTHER_WORKSPACE = ("other_admin", "other_agent")
ROLE_OF = {"other_admin": "admin", "other_agent": "agent", "agent": "agent",
           "viewer": "viewer", "operator": "operator", "admin": "admin"}
RANK = {"viewer": 0, "operator": 1, "admin": 2}

# What a route needs (API.md): a role, or
PUBLIC = "public"    # nothing: no token is read (the path or the query is the credential)
COOKIE = "cookie"    # the web UI's session cookie alone: every bearer principal is 401
METRICS = "metrics"  # the metrics token given at start: a workspace's token is 403

UNAUTHENTICATED, FORBIDDEN, HIDDEN, ALLOWED = "401", "403", "404", "ok"


class Row:
    """A route's expected data: what it needs, whether its path names an object of the
    workspace (`scoped`: another workspace gets 404), the request's body and query, and
    which fixture fills a path parameter where it is not the one of the same name."""

    def __init__(self, needs, scoped=False, body=None, query="", params=None):
        self.needs, self.scoped, self.body, self.query = needs, scoped, body, query
        self.params = params or {}


AGENT = {"agent_id": "mx-bot"}

# Every route of ApiRoutes(fake_clock=true), keyed by method and pattern.
MATRIX = {
    ("GET", "/healthz"): Row(PUBLIC),
    ("GET", "/metrics"): Row(METRICS),
    ("GET", "/api/v1/openapi.json"): Row(PUBLIC),
    ("GET", "/api/v1/session"): Row(COOKIE),
    ("POST", "/api/v1/session"): Row(PUBLIC, body={}),
    ("DELETE", "/api/v1/session"): Row(PUBLIC),

    ("GET", "/api/v1/runs"): Row("viewer"),
    ("GET", "/api/v1/runs/{run_id}"): Row("viewer", scoped=True),
    ("POST", "/api/v1/runs/{run_id}/pause"): Row("operator", scoped=True, body={}),
    ("POST", "/api/v1/runs/{run_id}/resume"): Row("operator", scoped=True, body={}),
    ("POST", "/api/v1/runs/{run_id}/cancel"): Row("operator", scoped=True, body={}),
    ("POST", "/api/v1/runs/{run_id}/replay"): Row("operator", scoped=True, body={}),
    ("POST", "/api/v1/runs/{run_id}/events"): Row(
        "operator", scoped=True, body={"event_type": "go", "payload": {}}),
    # A run that has ended: its stream sends what happened and closes.
    ("GET", "/api/v1/runs/{run_id}/events/stream"): Row("viewer", scoped=True),
    ("POST", "/api/v1/runs/bulk"): Row(
        "operator", body={"filter": {"workflow_id": "mx-none"}, "action": "cancel",
                          "preview": True}),
    ("GET", "/api/v1/operations/{operation_id}"): Row("viewer", scoped=True),

    ("GET", "/api/v1/workflows"): Row("viewer"),
    ("GET", "/api/v1/workflows/{workflow_id}"): Row("viewer", scoped=True),
    # Another workspace's PUT makes a workflow of its own with that id: not the id the
    # other rows name, which must stay this workspace's alone.
    ("PUT", "/api/v1/workflows/{workflow_id}"): Row(
        "admin", body={"steps": [noop("a", 1)]}, params={"workflow_id": "put_workflow_id"}),
    ("GET", "/api/v1/workflows/{workflow_id}/versions/{version}"): Row("viewer", scoped=True),
    ("POST", "/api/v1/workflows/{workflow_id}/status"): Row(
        "admin", scoped=True, body={"status": "active"}),
    ("POST", "/api/v1/workflows/{workflow_id}/resume"): Row("admin", scoped=True, body={}),
    ("POST", "/api/v1/workflows/{workflow_id}/invoke"): Row("operator", scoped=True, body={}),
    ("POST", "/api/v1/workflows/{workflow_id}/runs"): Row(
        "operator", scoped=True, body={"input": {}}),
    ("POST", "/api/v1/workflows/{workflow_id}/trigger"): Row("operator", scoped=True, body={}),
    ("GET", "/api/v1/workflows/{workflow_id}/runs/{run_id}"): Row("viewer", scoped=True),
    ("DELETE", "/api/v1/workflows/{workflow_id}/runs/{run_id}"): Row("operator", scoped=True),

    ("POST", "/api/v1/agents/claim"): Row(
        "agent", body={**AGENT, "queues": ["mx-empty"], "wait_ms": 0}),
    ("POST", "/api/v1/agent-tasks/{task_id}/heartbeat"): Row("agent", scoped=True, body=AGENT),
    ("POST", "/api/v1/agent-tasks/{task_id}/complete"): Row(
        "agent", scoped=True, body={**AGENT, "output": None}),
    ("POST", "/api/v1/agent-tasks/{task_id}/fail"): Row(
        "agent", scoped=True, body={**AGENT, "error": {"message": "no"}}),

    ("GET", "/api/v1/tokens"): Row("admin"),
    ("POST", "/api/v1/tokens"): Row("admin", body={"role": "viewer", "name": "mx-made"}),
    ("DELETE", "/api/v1/tokens/{token_id}"): Row("admin", scoped=True),
    ("GET", "/api/v1/instances"): Row("admin"),
    ("GET", "/api/v1/audit"): Row("admin"),

    ("GET", "/api/v1/approvals"): Row("viewer"),
    ("GET", "/api/v1/approvals/{approval_id}"): Row("viewer", scoped=True),
    # The table lets viewers in (a named approver may be one); who may decide an
    # approval with the default approvers is the operator (API.md), so a viewer is 403.
    ("POST", "/api/v1/approvals/{approval_id}/decision"): Row(
        "operator", scoped=True, body={"decision": "approve"}),
    ("POST", "/api/v1/approvals/{approval_id}/links"): Row(
        "operator", scoped=True, body={"recipient": "ops@example.com"}),
    ("GET", "/api/v1/forms/{form_id}"): Row("viewer", scoped=True),
    ("POST", "/api/v1/forms/{form_id}/submit"): Row(
        "operator", scoped=True, body={"data": {"name": "mx"}}),
    # Magic links: the link is the credential.
    ("GET", "/approve/done"): Row(PUBLIC),
    ("GET", "/approve/{token}"): Row(PUBLIC, params={"token": "link_token"}),
    ("POST", "/approve/{token}"): Row(
        PUBLIC, body={"decision": "approve"}, params={"token": "link_token"}),

    ("GET", "/api/v1/connections"): Row("viewer"),
    ("POST", "/api/v1/connections"): Row("admin", body={}),
    ("GET", "/api/v1/connections/{connection_id}"): Row("viewer", scoped=True),
    ("DELETE", "/api/v1/connections/{connection_id}"): Row(
        "admin", scoped=True, params={"connection_id": "doomed_connection_id"}),
    ("POST", "/api/v1/connections/{connection_id}/refresh"): Row("admin", scoped=True, body={}),
    ("POST", "/api/v1/connections/{connection_id}/reconnect"): Row(
        "admin", scoped=True, body={}),
    ("GET", "/api/v1/connections/{connection_id}/authorize"): Row("admin", scoped=True),
    # The authorization-code flow's end: its one-use state is the credential.
    ("GET", "/oauth/callback"): Row(PUBLIC, query="?code=mx&state=mx"),

    ("GET", "/api/v1/schedules"): Row("viewer"),
    ("POST", "/api/v1/schedules"): Row("admin", body={}),
    ("GET", "/api/v1/schedules/{schedule_id}"): Row("viewer", scoped=True),
    ("PUT", "/api/v1/schedules/{schedule_id}"): Row("admin", scoped=True, body={}),
    ("DELETE", "/api/v1/schedules/{schedule_id}"): Row(
        "admin", scoped=True, params={"schedule_id": "doomed_schedule_id"}),
    ("POST", "/api/v1/schedules/{schedule_id}/pause"): Row("admin", scoped=True, body={}),
    ("POST", "/api/v1/schedules/{schedule_id}/resume"): Row("admin", scoped=True, body={}),

    ("GET", "/api/v1/notifications"): Row("viewer"),
    ("POST", "/api/v1/notifications/{notification_id}/read"): Row(
        "viewer", scoped=True, body={}),
    ("GET", "/api/v1/notifications/deliveries"): Row("admin"),
    ("GET", "/api/v1/notification-channels"): Row("admin"),
    ("PUT", "/api/v1/notification-channels"): Row("admin", body={}),
    ("GET", "/api/v1/billing"): Row("viewer"),
    ("PUT", "/api/v1/billing"): Row("admin", body={}),
    ("GET", "/api/v1/retention"): Row("admin"),
    ("PUT", "/api/v1/retention"): Row("admin", body={}),

    # Only with --fake-clock, which the matrix's server has.
    ("POST", "/api/v1/testing/clock/advance"): Row("admin", body={"ms": 0}),
}

# The web UI: every path outside /api/ that no route has (its deep links are index.html).
UI_ROWS = {
    ("GET", "/"): Row(PUBLIC),
    ("GET", "/default/runs"): Row(PUBLIC),
    ("GET", "/mx-other/workflows/mx"): Row(PUBLIC),
}


def route_list_bin():
    value = os.environ.get("STEPWELL_ROUTE_LIST") or "build/tests/route_list"
    path = Path(value)
    return str(path if path.is_absolute() else REPO_ROOT / path)


def table_routes():
    """(method, pattern) of every route of the server's table, in the table's order."""
    binary = route_list_bin()
    if not os.access(binary, os.X_OK):
        raise RuntimeError(f"route_list not found at {binary}: build it (ninja -C build "
                           f"route_list) or set STEPWELL_ROUTE_LIST")
    out = subprocess.run([binary], capture_output=True, text=True, check=True,
                         timeout=scaled(30)).stdout
    routes = [tuple(line.split(" ", 1)) for line in out.splitlines() if line.strip()]
    if not routes:
        raise AssertionError(f"{binary} listed no route")
    return routes


def expected(row, principal):
    if row.needs == PUBLIC:
        return ALLOWED
    if row.needs == COOKIE or principal in ("none", "bad"):
        return UNAUTHENTICATED
    if row.needs == METRICS:
        return FORBIDDEN
    role = ROLE_OF[principal]
    if "agent" in (role, row.needs):
        allowed = role == row.needs
    else:
        allowed = RANK[role] >= RANK[row.needs]
    if not allowed:
        return FORBIDDEN
    if row.scoped and principal in OTHER_WORKSPACE:
        return HIDDEN
    return ALLOWED


def approval_step(step_id):
    return {"id": step_id, "type": "approval", "with": {"message": "Ship it?"}}


class RouteMatrixTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.routes = table_routes()
        cls.server = s = cls.start_server(fake_clock=True)
        cls.tokens = {"none": None, "bad": "sw_" + secrets.token_urlsafe(32),
                      "admin": s.admin_token}
        for role in ("agent", "viewer", "operator"):
            cls.tokens[role] = s.create_token(role, f"mx-{role}")["token"]
        cls.tokens["other_admin"] = s.create_workspace("mx-other")
        cls.tokens["other_agent"] = s.create_token(
            "agent", "mx-other-agent", token=cls.tokens["other_admin"])["token"]
        cls.params = cls.make_objects()

    @classmethod
    def make_objects(cls):
        """The objects of workspace `default` that the paths name, by parameter name."""
        s = cls.server
        s.put_workflow({"id": "mx", "steps": [noop("a", 1)]})
        run = s.run_and_wait("mx")
        params = {"workflow_id": "mx", "version": "1", "run_id": run["id"],
                  "put_workflow_id": "mx-put"}

        s.put_workflow({"id": "mx-agent", "steps": [
            {"id": "work", "type": "agent_task", "with": {"queue": "mx-q"}}]})
        s.start_run("mx-agent")
        claimed = s.request("POST", "/api/v1/agents/claim",
                            {**AGENT, "queues": ["mx-q"], "wait_ms": 5000},
                            token=cls.tokens["agent"])
        if claimed.status != 200:
            raise AssertionError(f"claim: {claimed!r}")
        params["task_id"] = claimed.json["task"]["id"]

        s.put_workflow({"id": "mx-approval", "steps": [approval_step("gate")]})
        params["approval_id"] = cls.waiting_on("mx-approval", "approval_id")
        linked = cls.waiting_on("mx-approval", "approval_id")
        link = s.request("POST", f"/api/v1/approvals/{linked}/links",
                         {"recipient": "ops@example.com"})
        if link.status != 201:
            raise AssertionError(f"magic link: {link!r}")
        params["link_token"] = link.json["url"].rsplit("/", 1)[1]
        params["notification_id"] = wait_until(
            lambda: (s.request("GET", "/api/v1/notifications").json["items"] or [{}])[0]
            .get("id"), desc="a notification of the approval")

        s.put_workflow({"id": "mx-form", "steps": [{
            "id": "ask", "type": "form",
            "with": {"message": "Name?", "schema": {"type": "object"}}}]})
        params["form_id"] = cls.waiting_on("mx-form", "form_id")

        params["token_id"] = s.create_token("viewer", "mx-doomed")["id"]
        oauth2 = {"token_url": "https://127.0.0.1:9/token", "client_id": "mx",
                  "client_secret": "mx-secret", "refresh_token": "mx-refresh",
                  "authorize_url": "https://127.0.0.1:9/authorize"}
        params["connection_id"] = s.create_connection("mx-conn", oauth2)["id"]
        params["doomed_connection_id"] = s.create_connection("mx-doomed", oauth2)["id"]
        for name in ("schedule_id", "doomed_schedule_id"):
            made = s.request("POST", "/api/v1/schedules",
                             {"workflow_id": "mx", "cron": "0 0 1 1 *"})
            if made.status != 201:
                raise AssertionError(f"schedule: {made!r}")
            params[name] = made.json["id"]
        op = s.request("POST", "/api/v1/runs/bulk",
                       {"filter": {"workflow_id": "mx-none"}, "action": "cancel"})
        if op.status != 202:
            raise AssertionError(f"bulk operation: {op!r}")
        params["operation_id"] = op.json["operation"]["id"]
        return params

    @classmethod
    def waiting_on(cls, workflow_id, key):
        """A new run of `workflow_id`, once it waits: its wait's `key`."""
        s = cls.server
        run = s.start_run(workflow_id)
        waiting = s.wait_for(run["id"], lambda r: (r.get("wait") or {}).get(key),
                             desc=f"a wait with {key}")
        return waiting["wait"][key]

    def path_of(self, pattern, row):
        segments = []
        for segment in pattern.split("/"):
            if segment.startswith("{") and segment.endswith("}"):
                name = segment[1:-1]
                segment = self.params[row.params.get(name, name)]
            segments.append(segment)
        return "/".join(segments) + row.query

    def audit_heads(self):
        """The newest audit entry of each workspace: what a change would move."""
        heads = []
        for admin in ("admin", "other_admin"):
            resp = self.server.request("GET", "/api/v1/audit?limit=1", token=self.tokens[admin])
            self.assertEqual(resp.status, 200, f"{resp!r}")
            heads.append([entry["id"] for entry in resp.json["items"]])
        return heads

    def check_cell(self, method, path, row, principal):
        want = expected(row, principal)
        refused_change = want != ALLOWED and method != "GET"
        before = self.audit_heads() if refused_change else None
        resp = self.server.request(method, path, row.body, token=self.tokens[principal])
        if refused_change:
            self.assertEqual(self.audit_heads(), before, "a refused request was audited "
                             f"as a change: {resp!r}")
        if want == UNAUTHENTICATED:
            self.assertError(resp, 401, "unauthorized")
        elif want == FORBIDDEN:
            self.assertError(resp, 403, "forbidden")
        elif want == HIDDEN:
            self.assertError(resp, 404, "not_found")
        else:
            self.assertNotIn(resp.status, (401, 403), f"the gate refused: {resp!r}")
            self.assertLess(resp.status, 500, f"{resp!r}")
            if row.scoped:
                self.assertNotEqual(resp.status, 404, f"its object is not found: {resp!r}")

    def walk(self, rows, keys):
        cells = 0
        for method, pattern in keys:
            row = rows[(method, pattern)]
            path = self.path_of(pattern, row)
            for principal in PRINCIPALS:
                with self.subTest(route=f"{method} {pattern}", principal=principal,
                                  expected=expected(row, principal)):
                    self.check_cell(method, path, row, principal)
                cells += 1
        return cells

    def test_every_route_has_a_row(self):
        listed = set(self.routes)
        self.assertEqual(len(listed), len(self.routes), "a route is listed twice")
        missing = sorted(" ".join(r) for r in listed - MATRIX.keys())
        stale = sorted(" ".join(r) for r in MATRIX.keys() - listed)
        self.assertEqual(missing, [], "routes of the table without a row in MATRIX")
        self.assertEqual(stale, [], "rows of MATRIX for routes the table does not have")

    def test_matrix(self):
        rows = [r for r in self.routes if r in MATRIX]
        cells = self.walk(MATRIX, rows) + self.walk(UI_ROWS, list(UI_ROWS))
        print(f"\nroute matrix: {len(rows)} routes + {len(UI_ROWS)} web UI paths × "
              f"{len(PRINCIPALS)} principals = {cells} cells", file=sys.stderr)
        self.assertEqual(len(rows), len(self.routes), "routes without a row (see above)")


if __name__ == "__main__":
    unittest.main()
