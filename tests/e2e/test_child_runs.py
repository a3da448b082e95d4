"""Child runs (the `workflow` step): the parent waits (wait.kind "child"), the child's
output becomes the step's output, links both ways (parent_run_id, trigger, the step's
child_run_id, GET /api/v1/runs?parent_run_id=), a failed child fails the step
(child_failed) and a retry starts a new child, cancel of a parent reaches every active
descendant (reason "parent run cancelled"), a child cancelled on its own fails the
parent's step (child_cancelled), and children that cannot be started.
"""

import unittest

from harness import E2ETestCase, TERMINAL, find_step, http_step, noop


def call(step_id, workflow, input=None, **fields):
    step = {"id": step_id, "type": "workflow", "with": {"workflow": workflow}}
    if input is not None:
        step["with"]["input"] = input
    step.update(fields)
    return step


def wait_event(step_id, event_type):
    return {"id": step_id, "type": "wait_for_event", "with": {"event_type": event_type}}


class ChildRunsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = cls.start_target()
        cls.server = cls.start_server(fake_clock=True, allow_private_targets=True)

    def children(self, run_id):
        return self.server.list_all(f"/api/v1/runs?parent_run_id={run_id}")

    def wait_child(self, parent_id, timeout=10):
        """Waits until the parent waits on a child; returns (parent, child run)."""
        s = self.server
        parent = s.wait_for(parent_id,
                            lambda r: (r.get("wait") or {}).get("kind") == "child",
                            timeout=timeout, desc="the parent to wait on a child")
        return parent, s.get_run(parent["wait"]["child_run_id"])

    def test_child_output_flows_to_parent_and_links(self):
        s = self.server
        s.put_workflow({"id": "cr-child", "steps": [
            wait_event("go", "go"),
            noop("answer", {"got": "${{ input.x }}",
                            "event": "${{ steps.go.output.payload }}"})]})
        s.put_workflow({"id": "cr-parent", "steps": [
            noop("before", "b"),
            call("call", "cr-child", {"x": "${{ input.v }}", "fixed": 1}),
            noop("after", {"from_child": "${{ steps.call.output.got }}"})]})
        run = s.start_run("cr-parent", {"v": "hello"})
        parent, child = self.wait_child(run["id"])

        self.assertEqual(parent["status"], "waiting")
        wait = parent["wait"]
        self.assertEqual(wait["kind"], "child")
        self.assertEqual(wait["step_id"], "call")
        self.assertEqual(wait["workflow_id"], "cr-child")
        self.assertIsNone(wait["until"])
        self.assertEqual(parent["allowed_actions"], ["cancel"])
        self.assertIsNone(parent.get("parent_run_id"))
        step = find_step(parent, "call")
        self.assertEqual(step["status"], "waiting")
        self.assertEqual(step["child_run_id"], child["id"])

        self.assertEqual(child["workflow_id"], "cr-child")
        self.assertEqual(child["parent_run_id"], run["id"])
        self.assertEqual(child["trigger"], {"kind": "workflow", "actor": f"run:{run['id']}",
                                            "parent_run_id": run["id"]})
        self.assertEqual(child["input"], {"x": "hello", "fixed": 1})
        child = s.wait_status(child["id"], "waiting")

        listed = self.children(run["id"])
        self.assertEqual([c["id"] for c in listed], [child["id"]])
        self.assertEqual(listed[0]["parent_run_id"], run["id"])
        self.assertEqual(self.children(child["id"]), [])
        waiting_on_child = s.list_all("/api/v1/runs?wait_kind=child&workflow_id=cr-parent")
        self.assertIn(run["id"], [r["id"] for r in waiting_on_child])

        self.assertEqual(self.assertStatus(s.send_event(child["id"], "go", {"ok": 1}), 202),
                         {"delivered": True})
        done_child = s.wait_status(child["id"], *TERMINAL)
        self.assertEqual(done_child["status"], "completed", done_child)
        self.assertEqual(done_child["output"], {"got": "hello", "event": {"ok": 1}})
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed", done)
        step = find_step(done, "call")
        self.assertEqual(step["status"], "completed")
        self.assertEqual(step["output"], {"got": "hello", "event": {"ok": 1}})
        self.assertEqual(step["child_run_id"], child["id"])
        self.assertEqual(done["output"], {"from_child": "hello"})

    def test_failed_child_fails_the_step(self):
        s = self.server
        s.put_workflow({"id": "cr-fails", "steps": [
            {"id": "f", "type": "fail", "with": {"message": "child broke"}}]})
        s.put_workflow({"id": "cr-fails-parent", "steps": [
            call("call", "cr-fails"), noop("after", "never")]})
        done = s.run_and_wait("cr-fails-parent")
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["error"]["step_id"], "call")
        self.assertEqual(done["error"]["code"], "child_failed")
        step = find_step(done, "call")
        self.assertEqual(step["status"], "failed")
        self.assertEqual(step["error"]["code"], "child_failed")
        child = s.get_run(step["child_run_id"])
        self.assertEqual(child["status"], "failed")
        self.assertEqual(child["parent_run_id"], done["id"])
        self.assertEqual(find_step(done, "after")["status"], "pending")

    def test_retry_starts_a_new_child(self):
        s, t = self.server, self.target
        path = t.route(t.unique_path("child-flaky"), handler=lambda rec, n: (
            (500, {"n": n}) if n == 1 else (200, {"n": n})))
        s.put_workflow({"id": "cr-flaky", "steps": [http_step("h", t.url(path))]})
        s.put_workflow({"id": "cr-flaky-parent", "steps": [
            call("call", "cr-flaky", retry={"max_attempts": 2, "backoff": "fixed",
                                            "initial": "5s"}),
            noop("after", "${{ steps.call.output.body.n }}")]})
        run = s.start_run("cr-flaky-parent")
        waiting = s.wait_for(run["id"], lambda r: (r.get("wait") or {}).get("kind") == "retry",
                             desc="the back-off after the failed child")
        self.assertEqual(waiting["wait"]["last_error"]["code"], "child_failed")
        first = find_step(waiting, "call")["attempts"]
        self.assertEqual(len(first), 1, first)
        first_child = first[0]["child_run_id"]
        self.assertEqual(s.get_run(first_child)["status"], "failed")
        s.advance_clock(5000)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["output"], 2)
        step = find_step(done, "call")
        self.assertEqual(step["attempt"], 2)
        self.assertNotEqual(step["child_run_id"], first_child)
        self.assertEqual(s.get_run(step["child_run_id"])["status"], "completed")
        self.assertEqual(sorted(c["id"] for c in self.children(run["id"])),
                         sorted([first_child, step["child_run_id"]]))
        self.assertEqual(t.hits(path), 2)

    def test_cancel_parent_reaches_grandchildren(self):
        s = self.server
        s.put_workflow({"id": "cr-leaf", "steps": [wait_event("w", "never"),
                                                    noop("leaf-after", 1)]})
        s.put_workflow({"id": "cr-mid", "steps": [call("down", "cr-leaf"), noop("mid-after", 1)]})
        s.put_workflow({"id": "cr-top", "steps": [call("down", "cr-mid"), noop("top-after", 1)]})
        top = s.start_run("cr-top")
        _, mid = self.wait_child(top["id"])
        _, leaf = self.wait_child(mid["id"])
        leaf = s.wait_status(leaf["id"], "waiting")
        self.assertEqual(leaf["parent_run_id"], mid["id"])
        self.assertEqual(mid["parent_run_id"], top["id"])

        resp = s.control(top["id"], "cancel", {"reason": "stop the tree"})
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json["status"], "cancelled")
        top_done = s.wait_step(top["id"], "down", "cancelled")
        self.assertEqual(top_done["cancel"]["reason"], "stop the tree")
        for run_id, step_id in ((mid["id"], "down"), (leaf["id"], "w")):
            done = s.wait_status(run_id, *TERMINAL)
            self.assertEqual(done["status"], "cancelled", done)
            self.assertEqual(done["cancel"]["reason"], "parent run cancelled", done)
            self.assertIsNone(done["output"])
            done = s.wait_step(run_id, step_id, "cancelled")
        for run_id, after in ((top["id"], "top-after"), (mid["id"], "mid-after"),
                              (leaf["id"], "leaf-after")):
            self.assertEqual(find_step(s.get_run(run_id), after)["status"], "pending")

    def test_cancelling_the_child_fails_the_parent_step(self):
        # On the fake clock nothing else moves time: the child's end must wake the
        # parent by itself, as it does when the child completes or fails.
        s = self.server
        s.put_workflow({"id": "cr-victim", "steps": [wait_event("w", "never")]})
        s.put_workflow({"id": "cr-victim-parent", "steps": [
            call("call", "cr-victim"), noop("after", "never")]})
        run = s.start_run("cr-victim-parent")
        _, child = self.wait_child(run["id"])
        s.wait_status(child["id"], "waiting")
        self.assertStatus(s.control(child["id"], "cancel", {"reason": "not needed"}), 200)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["error"]["code"], "child_cancelled")
        self.assertEqual(done["error"]["step_id"], "call")
        step = find_step(done, "call")
        self.assertEqual(step["status"], "failed")
        self.assertEqual(step["error"]["code"], "child_cancelled")
        self.assertEqual(find_step(done, "after")["status"], "pending")
        self.assertEqual(s.get_run(child["id"])["cancel"]["reason"], "not needed")

    def test_child_not_startable(self):
        s = self.server
        s.put_workflow({"id": "cr-off", "steps": [noop("x", 1)]})
        self.assertStatus(s.request("POST", "/api/v1/workflows/cr-off/status",
                                    {"status": "disabled"}), 200)
        for wf, target in (("cr-missing-parent", "cr-does-not-exist"),
                           ("cr-disabled-parent", "cr-off")):
            with self.subTest(target=target):
                s.put_workflow({"id": wf, "steps": [call("call", target), noop("after", 1)]})
                done = s.run_and_wait(wf)
                self.assertEqual(done["status"], "failed", done)
                self.assertEqual(done["error"]["code"], "child_not_startable")
                self.assertEqual(find_step(done, "call")["error"]["code"],
                                 "child_not_startable")
                self.assertEqual(self.children(done["id"]), [])

    def test_workflow_cannot_call_itself(self):
        s = self.server
        resp = s.request("PUT", "/api/v1/workflows/cr-self", {
            "id": "cr-self", "steps": [noop("a", 1), call("me", "cr-self")]})
        err = self.assertError(resp, 400, "invalid_definition")
        self.assertEqual(err.get("step_id"), "me", resp)
        self.assertEqual(s.request("GET", "/api/v1/workflows/cr-self").status, 404)

    def test_no_active_children_after_parent_completes(self):
        s = self.server
        s.put_workflow({"id": "cr-quick", "steps": [noop("q", {"quick": True})]})
        s.put_workflow({"id": "cr-two-calls", "steps": [
            call("one", "cr-quick"), call("two", "cr-quick"),
            noop("after", ["${{ steps.one.output.quick }}", "${{ steps.two.output.quick }}"])]})
        done = s.run_and_wait("cr-two-calls")
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["output"], [True, True])
        kids = self.children(done["id"])
        self.assertEqual(len(kids), 2)
        self.assertTrue(all(k["status"] == "completed" for k in kids), kids)
        self.assertEqual({k["id"] for k in kids},
                         {find_step(done, "one")["child_run_id"],
                          find_step(done, "two")["child_run_id"]})


class ChildCancelRealClockTest(E2ETestCase):
    """The same as ChildRunsTest.test_cancelling_the_child_fails_the_parent_step on the
    real clock (where the timer service also rescans the store every second)."""

    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server()

    def test_cancelling_the_child_fails_the_parent_step(self):
        s = self.server
        s.put_workflow({"id": "crr-victim", "steps": [wait_event("w", "never")]})
        s.put_workflow({"id": "crr-parent", "steps": [call("call", "crr-victim")]})
        run = s.start_run("crr-parent")
        parent = s.wait_for(run["id"], lambda r: (r.get("wait") or {}).get("kind") == "child")
        child_id = parent["wait"]["child_run_id"]
        s.wait_status(child_id, "waiting")
        self.assertStatus(s.control(child_id, "cancel"), 200)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["error"]["code"], "child_cancelled")


if __name__ == "__main__":
    unittest.main()
