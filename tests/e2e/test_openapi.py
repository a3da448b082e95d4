"""The OpenAPI document against the running server: GET /api/v1/openapi.json (no token)
serves docs/openapi.json as it is, and real answers of a representative set of routes
(every route that is cheap to drive) and of every error status the contract uses
(400, 401, 403, 404, 405, 409, 410, 413, 415) validate against the document's schema
for that operation and status.

Each answer's status must be one the operation documents (a 2xx or an error code listed
for it); its JSON body is validated with `jsonschema` (Draft 2020-12, the dialect of
OpenAPI 3.1), with `#/components/...` references resolved in the document. That the
document has exactly the route table's routes is tests/api/openapi_test.cc.

Needs Python's jsonschema (Debian's python3-jsonschema, `make deps`); CTest runs this file
with a Python that has it.

The contract has no 412: a control whose If-Match is stale is `409 state_changed` (API.md
"Concurrency"), checked here against the Error schema like every other error.
"""

import json
import re
import unittest
from pathlib import Path

from jsonschema import Draft202012Validator

from harness import REPO_ROOT, E2ETestCase, noop

DOC_PATH = Path(REPO_ROOT) / "docs" / "openapi.json"
SCRIPT = "oa-script"
WORKFLOW = "oa-wf"
PARKED = "oa-parked"
APPROVAL = "oa-approval"
FORM = "oa-form"
ERROR_STATUSES = (400, 401, 403, 404, 405, 409, 410, 413, 415)


UI_TYPES_PATH = Path(REPO_ROOT) / "web" / "src" / "api.ts"
# Interfaces of web/src/api.ts and the schema of docs/openapi.json each describes.
UI_TYPES = {"Session": "Session", "Step": "Step", "Run": "RunDetail",
            "Workflow": "WorkflowDetail", "Connection": "Connection",
            "WorkflowVersion": "WorkflowVersion", "Approval": "Approval", "Form": "Form",
            "Notification": "Notification", "NotificationPage": "NotificationPage",
            "Billing": "Billing", "BillingUpdate": "BillingUpdate"}


def ui_interface_fields(name):
    """The fields of `export interface NAME` in web/src/api.ts: {field: optional}."""
    text = UI_TYPES_PATH.read_text(encoding="utf-8")
    match = re.search(r"^export interface " + name + r"\b[^{]*\{\n(.*?)^\}", text,
                      re.M | re.S)
    if match is None:
        return {}
    return {m.group(1): bool(m.group(2))
            for m in re.finditer(r"^  (\w+)(\?)?:", match.group(1), re.M)}


class OpenApiTest(E2ETestCase):

    @classmethod
    def setUpClass(cls):
        cls.doc = json.loads(DOC_PATH.read_text(encoding="utf-8"))
        cls.server = cls.start_server(fake_clock=True)
        cls.checked = []  # (method, template, status)
        cls.viewer = cls.server.create_token("viewer", "oa-viewer")["token"]
        cls.agent = cls.server.create_token("agent", "oa-agent")["token"]

    @classmethod
    def tearDownClass(cls):
        statuses = sorted({status for _, _, status in cls.checked})
        routes = {(m, t) for m, t, _ in cls.checked}
        total = sum(len(item) for item in cls.doc["paths"].values())
        print(f"\n[openapi] {len(cls.checked)} answers validated: {len(routes)} of {total} "
              f"documented operations, statuses {statuses}")
        super().tearDownClass()

    # ------------------------------------------------------------------ checking

    def operation(self, method, template):
        item = self.doc["paths"].get(template)
        self.assertIsNotNone(item, f"{template} is not in docs/openapi.json")
        op = item.get(method.lower())
        self.assertIsNotNone(op, f"{method} {template} is not in docs/openapi.json")
        return op

    def resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            target = self.doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            node = target
        return node

    def validate(self, schema, value, what):
        root = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                "components": self.doc["components"], "allOf": [schema]}
        errors = sorted(Draft202012Validator(root).iter_errors(value), key=lambda e: e.path)
        if errors:
            lines = [f"- at {'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
                     for e in errors[:10]]
            self.fail(f"{what} does not match docs/openapi.json:\n" + "\n".join(lines)
                      + f"\nbody: {json.dumps(value)[:2000]}")

    def check(self, resp, method, template, status=None):
        """`resp` is an answer of METHOD TEMPLATE documented with its status, and its JSON
        body matches that answer's schema. Returns the body."""
        what = f"{method} {template} -> {resp.status}"
        if status is not None:
            self.assertEqual(resp.status, status, f"{what}: {resp!r}")
        op = self.operation(method, template)
        answer = op["responses"].get(str(resp.status))
        self.assertIsNotNone(
            answer, f"{what}: status {resp.status} is not documented for this operation in "
                    f"docs/openapi.json (documented: {sorted(op['responses'])})")
        answer = self.resolve(answer)
        content = answer.get("content", {})
        if resp.status == 204 or not content:
            self.assertEqual(resp.body, b"", f"{what}: a body where none is documented")
        else:
            media = (resp.headers.get("Content-Type") or "").split(";")[0].strip()
            self.assertIn(media, content, f"{what}: Content-Type {media!r} is not documented")
            if media == "application/json":
                self.assertIsNotNone(resp.json, f"{what}: body is not JSON: {resp!r}")
                self.validate(content[media]["schema"], resp.json, what)
        type(self).checked.append((method, template, resp.status))
        return resp.json

    def call(self, method, path, template, status, body=None, **kwargs):
        resp = self.server.request(method, path, body, **kwargs)
        return self.check(resp, method, template, status)

    # ------------------------------------------------------------------ tests

    def test_document_is_served_without_a_token(self):
        resp = self.server.request("GET", "/api/v1/openapi.json", token=None)
        self.check(resp, "GET", "/api/v1/openapi.json", 200)
        self.assertEqual(resp.json, self.doc, "the served document is not docs/openapi.json")
        self.assertTrue(resp.json["openapi"].startswith("3.1."))
        self.assertEqual(self.server.request("POST", "/api/v1/openapi.json", {},
                                             token=None).status, 405)

    def test_server_and_access(self):
        self.call("GET", "/healthz", "/healthz", 200, token=None)
        resp = self.server.request("GET", "/metrics", token=self.server.metrics_token)
        self.check(resp, "GET", "/metrics", 200)
        self.call("GET", "/api/v1/instances", "/api/v1/instances", 200)
        made = self.call("POST", "/api/v1/tokens", "/api/v1/tokens", 201,
                         {"role": "viewer", "name": "oa-made"})
        self.call("GET", "/api/v1/tokens", "/api/v1/tokens", 200)
        self.call("DELETE", f"/api/v1/tokens/{made['id']}", "/api/v1/tokens/{token_id}", 204)
        self.call("GET", "/api/v1/audit", "/api/v1/audit", 200)
        self.call("POST", "/api/v1/testing/clock/advance", "/api/v1/testing/clock/advance", 200,
                  {"ms": 0})
        resp = self.server.request("POST", "/api/v1/session", {"token": self.viewer}, token=None)
        self.check(resp, "POST", "/api/v1/session", 204)
        cookie = resp.headers.get("Set-Cookie").split(";")[0]
        self.call("GET", "/api/v1/session", "/api/v1/session", 200, token=None,
                  headers={"Cookie": cookie})
        self.call("DELETE", "/api/v1/session", "/api/v1/session", 204, token=None,
                  headers={"Cookie": cookie})
        self.call("GET", "/api/v1/session", "/api/v1/session", 401, token=None,
                  headers={"Cookie": cookie})

    def test_workflows_and_runs(self):
        wf = f"/api/v1/workflows/{WORKFLOW}"
        definition = {"id": WORKFLOW, "steps": [noop("a", "${{ input.x }}"), noop("b", 2)]}
        self.call("PUT", wf, "/api/v1/workflows/{workflow_id}", 201, definition)
        self.call("PUT", wf, "/api/v1/workflows/{workflow_id}", 200, definition)
        self.call("GET", "/api/v1/workflows", "/api/v1/workflows", 200)
        self.call("GET", wf, "/api/v1/workflows/{workflow_id}", 200)
        self.call("GET", f"{wf}/versions/1", "/api/v1/workflows/{workflow_id}/versions/{version}",
                  200)
        run = self.call("POST", f"{wf}/runs", "/api/v1/workflows/{workflow_id}/runs", 201,
                        {"input": {"x": 1}})
        self.call("POST", f"{wf}/trigger", "/api/v1/workflows/{workflow_id}/trigger", 201,
                  {"x": 2})
        done = self.server.wait_status(run["id"], "completed")
        self.check(self.server.request("GET", f"/api/v1/runs/{run['id']}"),
                   "GET", "/api/v1/runs/{run_id}", 200)
        self.assertEqual(done["output"], 2)
        self.call("GET", f"{wf}/runs/{run['id']}", "/api/v1/workflows/{workflow_id}/runs/{run_id}",
                  200)
        self.call("GET", f"/api/v1/runs?workflow_id={WORKFLOW}&limit=5", "/api/v1/runs", 200)
        self.call("GET", f"/api/v1/runs?run_ids={run['id']}", "/api/v1/runs", 200)
        self.call("GET", "/api/v1/runs?run_ids=nope", "/api/v1/runs", 400)
        self.call("POST", f"/api/v1/runs/{run['id']}/replay", "/api/v1/runs/{run_id}/replay",
                  201, {})
        first_step = done["steps"][-1]["id"]
        preview = self.call("POST", f"/api/v1/runs/{run['id']}/replay",
                            "/api/v1/runs/{run_id}/replay", 200,
                            {"from_step": first_step, "preview": True})
        self.assertIn(first_step, preview["will_run"])
        rerun = self.call("POST", f"/api/v1/runs/{run['id']}/replay",
                          "/api/v1/runs/{run_id}/replay", 201,
                          {"from_step": first_step, "version": "same"})
        self.assertEqual(rerun["replay_from_step"], first_step)
        self.call("POST", f"/api/v1/runs/{run['id']}/pause", "/api/v1/runs/{run_id}/pause", 409,
                  {})
        self.call("POST", f"{wf}/status", "/api/v1/workflows/{workflow_id}/status", 200,
                  {"status": "disabled"})
        self.call("POST", f"{wf}/runs", "/api/v1/workflows/{workflow_id}/runs", 409, {})
        self.call("POST", f"{wf}/status", "/api/v1/workflows/{workflow_id}/status", 200,
                  {"status": "active"})
        self.call("POST", f"{wf}/resume", "/api/v1/workflows/{workflow_id}/resume", 409, {})

        script = {"id": SCRIPT, "kind": "script", "steps": [noop("a", "${{ input.v }}")]}
        self.call("PUT", f"/api/v1/workflows/{SCRIPT}", "/api/v1/workflows/{workflow_id}", 201,
                  script)
        out = self.call("POST", f"/api/v1/workflows/{SCRIPT}/invoke",
                        "/api/v1/workflows/{workflow_id}/invoke", 200, {"v": 5})
        self.assertEqual(out["output"], 5)
        self.call("POST", f"/api/v1/workflows/{SCRIPT}/runs",
                  "/api/v1/workflows/{workflow_id}/runs", 400, {})

    def test_run_controls_and_events(self):
        self.server.put_workflow({"id": PARKED, "steps": [
            {"id": "w", "type": "wait_for_event", "with": {"event_type": "go"}}, noop("b", 1)]})
        run = self.server.start_run(PARKED)
        self.server.wait_status(run["id"], "waiting")
        path = f"/api/v1/runs/{run['id']}"
        self.call("POST", f"{path}/events", "/api/v1/runs/{run_id}/events", 202,
                  {"event_type": "other", "payload": {}})
        second = self.server.start_run(PARKED)
        self.server.wait_status(second["id"], "waiting")
        # A stale If-Match: 409 state_changed with current_status and version.
        err = self.call("POST", f"/api/v1/runs/{second['id']}/cancel",
                        "/api/v1/runs/{run_id}/cancel", 409, {}, headers={"If-Match": '"1"'})
        self.assertEqual(err["error"]["code"], "state_changed")
        self.assertIn("current_status", err["error"])
        self.call("POST", f"/api/v1/runs/{second['id']}/resume", "/api/v1/runs/{run_id}/resume",
                  409, {})
        self.call("POST", f"{path}/cancel", "/api/v1/runs/{run_id}/cancel", 200,
                  {"reason": "openapi"})
        self.call("DELETE", f"/api/v1/workflows/{PARKED}/runs/{second['id']}",
                  "/api/v1/workflows/{workflow_id}/runs/{run_id}", 200)

    def test_bulk_operations(self):
        wf = "openapi-bulk"
        self.server.put_workflow({"id": wf, "steps": [
            {"id": "w", "type": "wait_for_event", "with": {"event_type": "go"}}]})
        run = self.server.start_run(wf)
        self.server.wait_status(run["id"], "waiting")
        body = {"filter": {"workflow_id": wf, "status": "waiting"}, "action": "cancel"}
        preview = self.call("POST", "/api/v1/runs/bulk", "/api/v1/runs/bulk", 200,
                            dict(body, preview=True))
        self.assertEqual(preview["count"], 1)
        self.call("POST", "/api/v1/runs/bulk", "/api/v1/runs/bulk", 400,
                  dict(body, action="explode"))
        started = self.call("POST", "/api/v1/runs/bulk", "/api/v1/runs/bulk", 202, body)
        op = started["operation"]["id"]
        self.call("GET", f"/api/v1/operations/{op}", "/api/v1/operations/{operation_id}", 200)
        self.call("GET", "/api/v1/operations/op_nope", "/api/v1/operations/{operation_id}", 404)

    def test_approvals_and_links(self):
        self.server.put_workflow({"id": APPROVAL, "steps": [
            {"id": "ok", "type": "approval", "with": {"message": "Go?"}}]})
        run = self.server.start_run(APPROVAL)
        waiting = self.server.wait_status(run["id"], "waiting")
        approval_id = waiting["wait"]["approval_id"]
        self.call("GET", "/api/v1/approvals", "/api/v1/approvals", 200)
        self.call("GET", f"/api/v1/approvals/{approval_id}", "/api/v1/approvals/{approval_id}",
                  200)
        link = self.call("POST", f"/api/v1/approvals/{approval_id}/links",
                         "/api/v1/approvals/{approval_id}/links", 201,
                         {"recipient": "ops@example.com"})
        self.call("POST", f"/api/v1/approvals/{approval_id}/decision",
                  "/api/v1/approvals/{approval_id}/decision", 403, {"decision": "approve"},
                  token=self.viewer)
        self.call("POST", f"/api/v1/approvals/{approval_id}/decision",
                  "/api/v1/approvals/{approval_id}/decision", 200, {"decision": "approve"})
        self.call("POST", f"/api/v1/approvals/{approval_id}/decision",
                  "/api/v1/approvals/{approval_id}/decision", 409, {"decision": "deny"})
        self.call("POST", link["url"], "/approve/{token}", 410, {"decision": "approve"},
                  token=None)

    def test_forms(self):
        self.server.put_workflow({"id": FORM, "steps": [
            {"id": "f", "type": "form", "with": {"message": "Name?", "schema": {
                "type": "object", "required": ["name"],
                "properties": {"name": {"type": "string"}}}}}]})
        run = self.server.start_run(FORM)
        form_id = self.server.wait_status(run["id"], "waiting")["wait"]["form_id"]
        path = f"/api/v1/forms/{form_id}"
        self.call("GET", path, "/api/v1/forms/{form_id}", 200)
        err = self.call("POST", f"{path}/submit", "/api/v1/forms/{form_id}/submit", 400,
                        {"data": {"name": 3}})
        self.assertTrue(err["error"]["errors"])
        self.call("POST", f"{path}/submit", "/api/v1/forms/{form_id}/submit", 200,
                  {"data": {"name": "Ada"}})
        self.call("POST", f"{path}/submit", "/api/v1/forms/{form_id}/submit", 409,
                  {"data": {"name": "Bob"}})
        self.call("GET", "/api/v1/forms/frm_none", "/api/v1/forms/{form_id}", 404)

    def test_connections(self):
        oauth2 = {"token_url": "http://127.0.0.1:9/token", "client_id": "oa",
                  "client_secret": "s3cret", "refresh_token": "r1"}
        conn = self.call("POST", "/api/v1/connections", "/api/v1/connections", 201,
                         {"name": "oa-conn", "app": "slack", "oauth2": oauth2})
        path = f"/api/v1/connections/{conn['id']}"
        self.call("GET", "/api/v1/connections", "/api/v1/connections", 200)
        self.call("GET", path, "/api/v1/connections/{connection_id}", 200)
        self.call("POST", "/api/v1/connections", "/api/v1/connections", 409,
                  {"name": "oa-conn", "app": "slack", "oauth2": oauth2})
        self.call("POST", f"{path}/reconnect", "/api/v1/connections/{connection_id}/reconnect",
                  200, {"oauth2": dict(oauth2, refresh_token="r2")})
        self.call("DELETE", path, "/api/v1/connections/{connection_id}", 204)
        self.call("GET", path, "/api/v1/connections/{connection_id}", 404)

    def test_notifications_schedules_billing_retention(self):
        self.call("GET", "/api/v1/notifications", "/api/v1/notifications", 200)
        self.call("POST", "/api/v1/notifications/ntf_none/read",
                  "/api/v1/notifications/{notification_id}/read", 404, {})
        self.call("GET", "/api/v1/notifications/deliveries", "/api/v1/notifications/deliveries",
                  200)
        self.call("GET", "/api/v1/notification-channels", "/api/v1/notification-channels", 200)
        self.call("PUT", "/api/v1/notification-channels", "/api/v1/notification-channels", 200,
                  {"email": {"to": ["ops@example.com"]}, "webhooks": []})

        self.server.put_workflow({"id": "oa-sched", "steps": [noop("a", 1)]})
        made = self.call("POST", "/api/v1/schedules", "/api/v1/schedules", 201,
                         {"workflow_id": "oa-sched", "cron": "0 3 * * *",
                          "timezone": "Europe/Paris"})
        path = f"/api/v1/schedules/{made['id']}"
        self.call("GET", "/api/v1/schedules", "/api/v1/schedules", 200)
        self.call("GET", path, "/api/v1/schedules/{schedule_id}", 200)
        self.call("PUT", path, "/api/v1/schedules/{schedule_id}", 200,
                  {"workflow_id": "oa-sched", "cron": "0 4 * * *"})
        self.call("GET", "/api/v1/schedules?workflow_id=oa-sched", "/api/v1/schedules", 200)
        key = {"Idempotency-Key": "oa-sched-key"}
        body = {"workflow_id": "oa-sched", "cron": "0 5 * * *"}
        self.call("POST", "/api/v1/schedules", "/api/v1/schedules", 201, body, headers=key)
        self.call("POST", "/api/v1/schedules", "/api/v1/schedules", 201, body, headers=key)
        self.call("POST", "/api/v1/schedules", "/api/v1/schedules", 409,
                  dict(body, cron="0 6 * * *"), headers=key)
        self.call("PUT", path, "/api/v1/schedules/{schedule_id}", 409, {"cron": "0 7 * * *"},
                  headers={"If-Match": f'"{made["version"]}"'})
        self.call("POST", f"{path}/pause", "/api/v1/schedules/{schedule_id}/pause", 200, {})
        self.call("POST", f"{path}/resume", "/api/v1/schedules/{schedule_id}/resume", 200, {})
        self.call("DELETE", path, "/api/v1/schedules/{schedule_id}", 204)
        self.call("POST", "/api/v1/schedules", "/api/v1/schedules", 400,
                  {"workflow_id": "oa-sched", "cron": "not cron"})

        self.call("GET", "/api/v1/billing", "/api/v1/billing", 200)
        self.call("PUT", "/api/v1/billing", "/api/v1/billing", 200,
                  {"spend_cap": 100, "prices": {"default": 0.01}})
        self.call("PUT", "/api/v1/billing", "/api/v1/billing", 400, {"spend_cap": -1})
        self.call("GET", "/api/v1/retention", "/api/v1/retention", 200)
        self.call("PUT", "/api/v1/retention", "/api/v1/retention", 200,
                  {"finished_runs_max_age": "30d"})

    def test_agents(self):
        self.call("POST", "/api/v1/agents/claim", "/api/v1/agents/claim", 204,
                  {"agent_id": "oa-bot", "queues": ["oa-empty"], "wait_ms": 0}, token=self.agent)
        self.call("POST", "/api/v1/agent-tasks/task_none/heartbeat",
                  "/api/v1/agent-tasks/{task_id}/heartbeat", 404, {"agent_id": "oa-bot"},
                  token=self.agent)
        self.call("POST", "/api/v1/agents/claim", "/api/v1/agents/claim", 403,
                  {"agent_id": "oa-bot"}, token=self.viewer)

    def test_error_shapes(self):
        big = {"x": "y" * (1 << 20)}
        cases = [
            # (method, path, template, status, body/raw, kwargs)
            ("GET", "/api/v1/runs?status=bogus", "/api/v1/runs", 400, None, {}),
            ("GET", "/api/v1/runs?no_such_filter=1", "/api/v1/runs", 400, None, {}),
            ("GET", "/api/v1/runs", "/api/v1/runs", 401, None, {"token": None}),
            ("GET", "/api/v1/runs", "/api/v1/runs", 401, None, {"token": "sw_not_a_token"}),
            ("GET", "/api/v1/tokens", "/api/v1/tokens", 403, None, {"token": self.viewer}),
            ("GET", "/api/v1/runs/run_none", "/api/v1/runs/{run_id}", 404, None, {}),
            ("GET", "/api/v1/workflows/none-here", "/api/v1/workflows/{workflow_id}", 404, None,
             {}),
            ("POST", f"/api/v1/workflows/{WORKFLOW}x/runs", "/api/v1/workflows/{workflow_id}/runs",
             413, big, {}),
        ]
        for method, path, template, status, body, kwargs in cases:
            with self.subTest(method=method, path=path, status=status):
                self.call(method, path, template, status, body, **kwargs)
        resp = self.server.request("PUT", "/api/v1/workflows/oa-bad", raw_body=b"{not json")
        self.check(resp, "PUT", "/api/v1/workflows/{workflow_id}", 400)
        resp = self.server.request("PUT", "/api/v1/workflows/oa-bad", raw_body=b"id: oa-bad",
                                   content_type="text/plain")
        self.check(resp, "PUT", "/api/v1/workflows/{workflow_id}", 415)
        # A path routed for other methods: 405 with the error object (no operation of that
        # method exists, so the shape is checked against the Error schema itself).
        resp = self.server.request("DELETE", "/api/v1/runs")
        self.assertEqual(resp.status, 405, resp)
        self.validate({"$ref": "#/components/schemas/Error"}, resp.json, "DELETE /api/v1/runs")
        self.assertEqual(self.resolve(self.doc["components"]["responses"]["MethodNotAllowed"])
                         ["content"]["application/json"]["schema"]["$ref"],
                         "#/components/schemas/Error")
        type(self).checked.append(("DELETE", "/api/v1/runs", 405))

    def test_web_ui_types_agree_with_the_document(self):
        # web/src/api.ts declares what the UI reads: each field of these interfaces is a
        # property of the schema, and a field the UI does not mark optional is required.
        for interface, schema_name in UI_TYPES.items():
            fields = ui_interface_fields(interface)
            self.assertTrue(fields, f"no interface {interface} in {UI_TYPES_PATH}")
            properties, required = self.schema_fields(self.doc["components"]["schemas"]
                                                      [schema_name])
            for name, optional in fields.items():
                with self.subTest(interface=interface, field=name):
                    self.assertIn(name, properties,
                                  f"web/src/api.ts {interface}.{name} is not a property of "
                                  f"{schema_name} in docs/openapi.json")
                    if not optional:
                        self.assertIn(name, required,
                                      f"web/src/api.ts {interface}.{name} is not optional, but "
                                      f"{schema_name} in docs/openapi.json does not require it")

    def schema_fields(self, schema):
        schema = self.resolve(schema)
        properties, required = dict(schema.get("properties", {})), set(schema.get("required", []))
        for part in schema.get("allOf", []):
            more, more_required = self.schema_fields(part)
            properties.update(more)
            required |= more_required
        return properties, required

    def test_zz_every_error_status_was_checked(self):
        # Runs last (unittest sorts by name): the statuses the tests above drove.
        seen = {status for _, _, status in self.checked}
        missing = [s for s in ERROR_STATUSES if s not in seen]
        self.assertEqual(missing, [], "error statuses no test validated")


if __name__ == "__main__":
    unittest.main()
