"""Workflow definitions: versions, validation, script workflows, listing, status."""

import unittest
from urllib.parse import quote

from harness import E2ETestCase, noop


class WorkflowsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server()

    def put(self, definition, wf=None):
        return self.server.api("PUT", f"/api/v1/workflows/{wf or definition['id']}", definition)

    def test_put_creates_then_versions(self):
        s = self.server
        v1 = {"id": "wf-versions", "steps": [noop("a", {"v": 1})]}
        resp = self.put(v1)
        body = self.assertStatus(resp, 201)
        self.assertEqual(body["id"], "wf-versions")
        self.assertEqual(body["version"], 1)
        self.assertEqual(body["kind"], "workflow")
        self.assertEqual(body["mode"], "standard")
        self.assertEqual(body["status"], "active")
        self.assertIsNone(body["safety"])
        self.assertEqual([st["id"] for st in body["definition"]["steps"]], ["a"])
        self.assertTime(body["created_at"])
        self.assertTime(body["updated_at"])

        # The same body again: no new version.
        resp = self.put(v1)
        self.assertEqual(self.assertStatus(resp, 200)["version"], 1)

        v2 = {"id": "wf-versions", "steps": [noop("a", {"v": 2}), noop("b", {"v": 2})]}
        resp = self.put(v2)
        self.assertEqual(self.assertStatus(resp, 200)["version"], 2)
        resp = self.put(v2)
        self.assertEqual(self.assertStatus(resp, 200)["version"], 2)

        got = self.assertStatus(s.api("GET", "/api/v1/workflows/wf-versions"), 200)
        self.assertEqual(got["version"], 2)
        self.assertEqual(got["id"], "wf-versions")
        self.assertEqual([st["id"] for st in got["definition"]["steps"]], ["a", "b"])

    def test_runs_keep_the_version_they_started_on(self):
        s = self.server
        v1 = {"id": "wf-pinned", "steps": [
            {"id": "gate", "type": "wait_for_event", "with": {"event_type": "go"}},
            noop("last", "from-v1")]}
        self.assertEqual(s.put_workflow(v1)["version"], 1)
        run = s.start_run("wf-pinned")
        self.assertEqual(run["workflow_version"], 1)
        s.wait_status(run["id"], "waiting")

        v2 = {"id": "wf-pinned", "steps": [
            {"id": "gate", "type": "wait_for_event", "with": {"event_type": "go"}},
            noop("last", "from-v2")]}
        self.assertEqual(s.put_workflow(v2)["version"], 2)
        self.assertEqual(s.get_run(run["id"])["workflow_version"], 1)

        self.assertStatus(s.send_event(run["id"], "go", {}), 202)
        done = s.wait_status(run["id"], "completed", "failed", "cancelled")
        self.assertEqual(done["status"], "completed")
        self.assertEqual(done["workflow_version"], 1)
        self.assertEqual(done["output"], "from-v1")

        run2 = s.start_run("wf-pinned")
        self.assertEqual(run2["workflow_version"], 2)
        self.assertStatus(s.send_event(run2["id"], "go", {}), 202)
        done2 = s.wait_status(run2["id"], "completed", "failed", "cancelled")
        self.assertEqual(done2["output"], "from-v2")

    def test_body_id_must_match_path(self):
        resp = self.put({"id": "other-id", "steps": [noop("a", 1)]}, wf="wf-mismatch")
        self.assertError(resp, 400, "invalid_definition")
        self.assertError(self.server.api("GET", "/api/v1/workflows/wf-mismatch"), 404,
                         "not_found")
        self.assertError(self.server.api("GET", "/api/v1/workflows/other-id"), 404, "not_found")

    def check_invalid(self, wf, steps, step_id, field):
        resp = self.put({"id": wf, "steps": steps})
        err = self.assertError(resp, 400, "invalid_definition")
        self.assertEqual(err.get("step_id"), step_id, f"error should name the step: {err}")
        self.assertEqual(err.get("field"), field, f"error should name the field: {err}")
        # Nothing stored.
        self.assertError(self.server.api("GET", f"/api/v1/workflows/{wf}"), 404, "not_found")
        return err

    def test_unknown_step_type(self):
        self.check_invalid("bad-type", [noop("ok", 1), {"id": "tp", "type": "teleport"}],
                           "tp", "type")

    def test_loop_without_max_iterations(self):
        self.check_invalid("bad-loop", [
            {"id": "l", "type": "loop", "with": {"until": "${{ input.x }}"},
             "steps": [noop("c", 1)]}], "l", "with.max_iterations")

    def test_reference_to_a_step_that_has_not_run_yet(self):
        later = self.check_invalid("ref-later", [
            noop("a", 1),
            {"id": "b", "type": "http", "with": {"url": "http://x/${{ steps.c.output }}"}},
            noop("c", 2)], "b", "steps[1].with.url")
        self.assertIn("refers to step 'c', which has not run yet", later["message"])
        itself = self.check_invalid("ref-self", [
            noop("a", 1), noop("b", "${{ steps.b.output }}")], "b", "steps[1].with.value")
        self.assertIn("refers to step 'b', which has not run yet", itself["message"])
        self.check_invalid("ref-loop-body", [
            {"id": "l", "type": "loop", "with": {"max_iterations": 2},
             "steps": [noop("first", "${{ steps.second.output }}"), noop("second", 1)]}],
            "first", "steps[0].steps[0].with.value")

    def test_references_to_steps_that_have_run_are_accepted(self):
        self.assertStatus(self.put({"id": "ref-ok", "steps": [
            noop("a", 5),
            {"id": "l", "type": "loop", "with": {"max_iterations": 2,
                                                  "until": "${{ steps.second.output == 5 }}"},
             "steps": [noop("first", "${{ steps.a.output }}"),
                       noop("second", "${{ steps.first.output }}")]},
            noop("after", "${{ steps.second.output }}")]}), 201)
        run = self.server.run_and_wait("ref-ok")
        self.assertEqual(run["status"], "completed", run)
        self.assertEqual(run["output"], 5)

    def test_bad_duration(self):
        self.check_invalid("bad-duration", [
            {"id": "nap", "type": "sleep", "with": {"duration": "5 parsecs"}}],
            "nap", "with.duration")

    def test_bad_step_timeout(self):
        self.check_invalid("bad-timeout", [
            {"id": "h", "type": "noop", "with": {"value": 1}, "timeout": "soon"}],
            "h", "timeout")

    def test_bad_expression(self):
        self.check_invalid("bad-expr", [noop("e", "${{ input.x == }}")], "e", "with.value")

    def test_bad_until_expression(self):
        self.check_invalid("bad-until", [
            {"id": "l", "type": "loop", "with": {"max_iterations": 2, "until": "${{ (( }}"},
             "steps": [noop("c", 1)]}], "l", "with.until")

    def test_duplicate_step_ids(self):
        self.check_invalid("bad-dup", [noop("a", 1), noop("b", 2), noop("a", 3)], "a", "id")

    def test_unknown_field_in_step(self):
        self.check_invalid("bad-field", [
            {"id": "a", "type": "noop", "with": {"value": 1}, "bogus": True}], "a", "bogus")

    def test_invalid_put_keeps_existing_version(self):
        s = self.server
        good = {"id": "wf-keep", "steps": [noop("a", "good")]}
        self.assertEqual(s.put_workflow(good)["version"], 1)
        resp = self.put({"id": "wf-keep", "steps": [{"id": "a", "type": "teleport"}]})
        self.assertError(resp, 400, "invalid_definition")
        got = self.assertStatus(s.api("GET", "/api/v1/workflows/wf-keep"), 200)
        self.assertEqual(got["version"], 1)
        run = s.run_and_wait("wf-keep")
        self.assertEqual(run["output"], "good")

    def test_script_kind(self):
        s = self.server
        script = {"id": "sc-add", "kind": "script", "steps": [
            noop("a", {"got": "${{ input.a }}"}),
            noop("b", {"echo": "${{ steps.a.output.got }}", "twice": "${{ input.a == 2 }}"})]}
        resp = self.put(script)
        body = self.assertStatus(resp, 201)
        self.assertEqual(body["kind"], "script")

        resp = s.api("POST", "/api/v1/workflows/sc-add/invoke", {"a": 2})
        self.assertEqual(self.assertStatus(resp, 200), {"output": {"echo": 2, "twice": True}})

        resp = s.api("POST", "/api/v1/workflows/sc-add/runs", {"input": {"a": 1}})
        self.assertError(resp, 400, "invalid_request")
        resp = s.api("POST", "/api/v1/workflows/sc-add/trigger", {"a": 1})
        self.assertError(resp, 400, "invalid_request")
        # A script leaves no run record.
        resp = s.api("GET", "/api/v1/runs?workflow_id=sc-add")
        self.assertEqual(self.assertStatus(resp, 200)["items"], [])

    def test_invoke_of_workflow_kind_is_400(self):
        s = self.server
        s.put_workflow({"id": "wf-not-script", "steps": [noop("a", 1)]})
        resp = s.api("POST", "/api/v1/workflows/wf-not-script/invoke", {"a": 1})
        self.assertError(resp, 400)
        resp = s.api("GET", "/api/v1/runs?workflow_id=wf-not-script")
        self.assertEqual(self.assertStatus(resp, 200)["items"], [])

    def test_invoke_unknown_workflow_is_404(self):
        resp = self.server.api("POST", "/api/v1/workflows/no-such-wf/invoke", {})
        self.assertError(resp, 404, "not_found")

    def test_list_workflows(self):
        s = self.server
        for wf in ("list-a", "list-b", "list-c"):
            s.put_workflow({"id": wf, "steps": [noop("a", wf)]})
        resp = s.api("GET", "/api/v1/workflows")
        body = self.assertStatus(resp, 200)
        self.assertIn("next_cursor", body)
        items = s.list_all("/api/v1/workflows")
        by_id = {w["id"]: w for w in items}
        for wf in ("list-a", "list-b", "list-c"):
            self.assertIn(wf, by_id)
            item = by_id[wf]
            self.assertEqual(item["version"], 1)
            self.assertEqual(item["status"], "active")
            self.assertIn("safety", item)
            self.assertIsNone(item["safety"])
            self.assertNotIn("definition", item)
        self.assertEqual(len(by_id), len(items), "duplicate workflows in the list")

        # Pagination: limit=1 walks every workflow once.
        seen = []
        url = "/api/v1/workflows?limit=1"
        for _ in range(200):
            page = self.assertStatus(s.api("GET", url), 200)
            self.assertLessEqual(len(page["items"]), 1)
            seen.extend(w["id"] for w in page["items"])
            if not page["next_cursor"]:
                break
            url = f"/api/v1/workflows?limit=1&cursor={quote(page['next_cursor'], safe='')}"
        self.assertEqual(sorted(seen), sorted(by_id))

    def test_workflow_status_disabled_refuses_runs(self):
        s = self.server
        s.put_workflow({"id": "wf-disable", "steps": [noop("a", "x")]})
        resp = s.api("POST", "/api/v1/workflows/wf-disable/status", {"status": "disabled"})
        self.assertStatus(resp, 200)
        self.assertEqual(
            self.assertStatus(s.api("GET", "/api/v1/workflows/wf-disable"), 200)["status"],
            "disabled")
        resp = s.api("POST", "/api/v1/workflows/wf-disable/runs", {"input": {}})
        self.assertError(resp, 409, "workflow_disabled")
        resp = s.api("POST", "/api/v1/workflows/wf-disable/trigger", {})
        self.assertError(resp, 409, "workflow_disabled")
        self.assertEqual(
            self.assertStatus(s.api("GET", "/api/v1/runs?workflow_id=wf-disable"), 200)["items"],
            [])
        resp = s.api("POST", "/api/v1/workflows/wf-disable/status", {"status": "active"})
        self.assertStatus(resp, 200)
        self.assertEqual(
            self.assertStatus(s.api("GET", "/api/v1/workflows/wf-disable"), 200)["status"],
            "active")
        run = s.run_and_wait("wf-disable")
        self.assertEqual(run["status"], "completed")
        resp = s.api("POST", "/api/v1/workflows/wf-disable/status", {"status": "paused"})
        self.assertError(resp, 400, "invalid_request")

    def test_unknown_workflow_is_404(self):
        s = self.server
        self.assertError(s.api("GET", "/api/v1/workflows/nope-nope"), 404, "not_found")
        self.assertError(s.api("POST", "/api/v1/workflows/nope-nope/runs", {"input": {}}), 404,
                         "not_found")
        self.assertError(s.api("POST", "/api/v1/workflows/nope-nope/status",
                               {"status": "disabled"}), 404, "not_found")


if __name__ == "__main__":
    unittest.main()
