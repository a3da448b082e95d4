"""Forms (API.md "Forms") against the real binary on a fake clock: the wait, the form
object, per-field errors that change nothing, the submit that becomes the step's
output, a second submit, expiry, cancel, roles, workspaces, bad schemas, a restart."""

import unittest

from harness import E2ETestCase, TERMINAL, find_step, noop

HOUR_MS = 3600 * 1000

SCHEMA = {
    "type": "object",
    "required": ["name", "age"],
    "properties": {
        "name": {"type": "string", "minLength": 1},
        "age": {"type": "integer", "minimum": 18},
        "plan": {"enum": ["basic", "pro"]},
    },
    "additionalProperties": False,
}


def form(step_id="details", **with_fields):
    w = {"message": "Who is this for?", "schema": SCHEMA}
    w.update(with_fields)
    return {"id": step_id, "type": "form", "with": w}


class FormsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server(fake_clock=True)
        cls.viewer = cls.server.create_token("viewer", "vera")["token"]
        cls.counter = 0

    def waiting(self, **with_fields):
        s = self.server
        FormsTest.counter += 1
        wf = f"form-{FormsTest.counter}"
        s.put_workflow({"id": wf, "steps": [form(**with_fields),
                                            noop("greet", "Hello ${{ steps.details.output.name }}")]})
        run = s.wait_status(s.start_run(wf)["id"], "waiting")
        frm = self.assertStatus(s.api("GET", f"/api/v1/forms/{run['wait']['form_id']}"), 200)
        return run, frm

    def submit(self, form_id, data, token=None):
        kwargs = {} if token is None else {"token": token}
        return self.server.api("POST", f"/api/v1/forms/{form_id}/submit", {"data": data}, **kwargs)

    def test_form_wait_and_valid_submit(self):
        s = self.server
        run, frm = self.waiting()
        self.assertEqual(run["wait"]["kind"], "form")
        self.assertEqual(run["wait"]["step_id"], "details")
        self.assertIsNone(run["wait"]["until"])
        self.assertTrue(frm["id"].startswith("frm_"))
        self.assertEqual((frm["run_id"], frm["step_id"], frm["message"], frm["schema"], frm["status"]),
                         (run["id"], "details", "Who is this for?", SCHEMA, "open"))
        after = self.assertStatus(self.submit(frm["id"], {"name": "Ada", "age": 36}), 200)
        self.assertEqual(after["status"], "submitted")
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(find_step(done, "details")["output"], {"name": "Ada", "age": 36})
        self.assertEqual(done["output"], "Hello Ada")
        self.assertError(self.submit(frm["id"], {"name": "Bob", "age": 40}), 409, "invalid_transition")

    def test_invalid_data_answers_field_errors_and_changes_nothing(self):
        s = self.server
        run, frm = self.waiting()
        err = self.assertError(self.submit(frm["id"], {"name": "", "age": 12, "plan": "gold", "x": 1}),
                               400, "invalid_request")
        paths = {e["path"] for e in err["errors"]}
        self.assertTrue({"/name", "/age", "/plan"} <= paths, err)
        for e in err["errors"]:
            self.assertIsInstance(e["message"], str)
            self.assertTrue(e["message"])
        err = self.assertError(self.submit(frm["id"], {"name": "Ada"}), 400, "invalid_request")
        self.assertIn("/age", {e["path"] for e in err["errors"]})
        self.assertError(s.api("POST", f"/api/v1/forms/{frm['id']}/submit", {}), 400, "invalid_request")
        self.assertError(s.api("POST", f"/api/v1/forms/{frm['id']}/submit", {"data": {}, "more": 1}),
                         400, "invalid_request")
        self.assertEqual(s.api("GET", f"/api/v1/forms/{frm['id']}").json, frm)
        self.assertEqual(s.get_run(run["id"])["status"], "waiting")
        self.assertStatus(self.submit(frm["id"], {"name": "Ada", "age": 18, "plan": "pro"}), 200)
        self.assertEqual(s.wait_status(run["id"], *TERMINAL)["status"], "completed")

    def test_expiry_fails_the_step(self):
        s = self.server
        run, frm = self.waiting(expires_in="2h")
        self.assertIsNotNone(run["wait"]["until"])
        s.advance_clock(2 * HOUR_MS + 1000)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "failed")
        self.assertEqual(done["error"]["code"], "form_expired")
        self.assertEqual(s.api("GET", f"/api/v1/forms/{frm['id']}").json["status"], "closed")
        self.assertError(self.submit(frm["id"], {"name": "Ada", "age": 36}), 409, "invalid_transition")

    def test_cancel_closes_the_form(self):
        s = self.server
        run, frm = self.waiting()
        self.assertStatus(s.control(run["id"], "cancel"), 200)
        self.assertEqual(s.api("GET", f"/api/v1/forms/{frm['id']}").json["status"], "closed")
        self.assertError(self.submit(frm["id"], {"name": "Ada", "age": 36}), 409, "invalid_transition")

    def test_roles_and_workspaces(self):
        s = self.server
        _, frm = self.waiting()
        self.assertEqual(s.api("GET", f"/api/v1/forms/{frm['id']}", token=self.viewer).status, 200)
        self.assertError(self.submit(frm["id"], {"name": "Ada", "age": 36}, self.viewer), 403, "forbidden")
        other = s.create_workspace("forms-other")
        self.assertError(s.api("GET", f"/api/v1/forms/{frm['id']}", token=other), 404, "not_found")
        self.assertError(self.submit(frm["id"], {"name": "Ada", "age": 36}, other), 404, "not_found")
        self.assertError(s.api("GET", "/api/v1/forms/frm_nope"), 404, "not_found")

    def test_bad_schemas_are_refused_on_apply(self):
        s = self.server
        for schema in ({"type": "strange"}, {"$ref": "http://example.test/s.json"}, "object",
                       {"properties": {"a": {"minimum": "one"}}}):
            resp = s.api("PUT", "/api/v1/workflows/bad-form",
                         {"id": "bad-form", "steps": [form(schema=schema)]})
            err = self.assertError(resp, 400, "invalid_definition")
            self.assertEqual(err.get("step_id"), "details")
            self.assertEqual(err.get("field"), "with.schema", err)


class FormRestartTest(E2ETestCase):
    def test_open_form_survives_kill(self):
        s = self.start_test_server(fake_clock=True)
        s.put_workflow({"id": "f", "steps": [form()]})
        run = s.wait_status(s.start_run("f")["id"], "waiting")
        s.restart()
        form_id = s.get_run(run["id"])["wait"]["form_id"]
        self.assertStatus(s.api("POST", f"/api/v1/forms/{form_id}/submit",
                                {"data": {"name": "Ada", "age": 36}}), 200)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["output"], {"name": "Ada", "age": 36})


if __name__ == "__main__":
    unittest.main()
