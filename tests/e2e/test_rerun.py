"""Rerun from a step (API.md "Day-two operations", docs/rerun.md): POST
/api/v1/runs/{id}/replay with {"from_step", "input", "version", "preview"}. The steps
before from_step are copied with their outputs ("copied": true) and do not execute again
(an http step's receiver counts its calls); versions same/latest/N; preview; the 400s,
404s and 409; the CLI's `runs replay`."""

import subprocess
import unittest

from harness import E2ETestCase, TERMINAL, find_step, http_step, noop, scaled


def gate(fail_when):
    """A switch that fails the run when `fail_when` holds (no default: else it completes
    with a null output)."""
    return {"id": "gate", "type": "switch", "with": {"cases": [
        {"when": fail_when, "steps": [
            {"id": "boom", "type": "fail", "with": {"message": "asked to fail",
                                                    "code": "asked"}}]}]}}


class RerunTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = cls.start_target()
        cls.server = cls.start_server(allow_private_targets=True)

    def replay(self, run_id, body=None):
        return self.server.api("POST", f"/api/v1/runs/{run_id}/replay", body)

    def counting_workflow(self, wf_id):
        """a (http, counted) -> b (noop of a's answer and the input) -> gate (fails on
        input.fail) -> c (http, counted) -> d. Answers (a's path, c's path)."""
        s, t = self.server, self.target
        a_path = t.route(t.unique_path("a"), handler=lambda rec, n: (200, {"n": n}))
        c_path = t.route(t.unique_path("c"), handler=lambda rec, n: (200, {"n": n}))
        s.put_workflow({"id": wf_id, "steps": [
            http_step("a", t.url(a_path)),
            noop("b", {"a_n": "${{ steps.a.output.body.n }}", "x": "${{ input.x }}"}),
            gate("${{ input.fail == true }}"),
            http_step("c", t.url(c_path)),
            noop("d", {"b": "${{ steps.b.output }}", "x": "${{ input.x }}",
                       "c_n": "${{ steps.c.output.body.n }}"})]})
        return a_path, c_path

    def failed_run(self, wf_id):
        s, t = self.server, self.target
        a_path, c_path = self.counting_workflow(wf_id)
        failed = s.run_and_wait(wf_id, {"fail": True, "x": 1})
        self.assertEqual(failed["status"], "failed", failed)
        self.assertEqual(failed["error"]["step_id"], "boom", failed)
        self.assertEqual((t.hits(a_path), t.hits(c_path)), (1, 0))
        return failed, a_path, c_path

    # ------------------------------------------------------------- from a step

    def test_failed_run_reruns_from_the_failing_step_with_new_input(self):
        s, t = self.server, self.target
        failed, a_path, c_path = self.failed_run("rr-main")
        resp = self.replay(failed["id"], {"from_step": "gate", "input": {"fail": False, "x": 2}})
        run = self.assertStatus(resp, 201)
        self.assertEqual(resp.headers.get("Location"), f"/api/v1/runs/{run['id']}")
        self.assertEqual(run["replay_of"], failed["id"])
        self.assertEqual(run["replay_from_step"], "gate")
        self.assertEqual(run["workflow_version"], failed["workflow_version"])
        self.assertEqual(run["input"], {"fail": False, "x": 2})
        self.assertEqual(run["trigger"]["kind"], "replay")
        # The answer already carries the copied steps.
        self.assertEqual([(st["path"], st["copied"]) for st in run["steps"][:2]],
                         [("a", True), ("b", True)])

        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed", done)
        # a did not execute again; c executed once.
        self.assertEqual((t.hits(a_path), t.hits(c_path)), (1, 1))
        for path in ("a", "b"):
            step, before = find_step(done, path), find_step(failed, path)
            self.assertTrue(step["copied"], step)
            self.assertEqual(step["status"], "completed")
            self.assertEqual(step["output"], before["output"])
            self.assertEqual(step["started_at"], before["started_at"])
        for path in ("gate", "c", "d"):
            self.assertFalse(find_step(done, path)["copied"], path)
        self.assertIsNone(find_step(done, "gate.boom", required=False))
        # b's output is the earlier run's (made with x=1); d reads the new input.
        self.assertEqual(done["output"], {"b": {"a_n": 1, "x": 1}, "x": 2, "c_n": 1})
        self.assertEqual(done["replay_from_step"], "gate")
        self.assertEqual(done["replay_of"], failed["id"])
        # The earlier run is untouched; its steps are not copied ones.
        again = s.get_run(failed["id"])
        self.assertEqual(again["version"], failed["version"])
        self.assertIsNone(again["replay_from_step"])
        self.assertFalse(any(st["copied"] for st in again["steps"]), again["steps"])

    def test_from_a_step_path_and_from_the_first_step(self):
        s, t = self.server, self.target
        failed, a_path, c_path = self.failed_run("rr-path")
        # The failing step's own path: with this input the switch takes no branch, so the
        # first step that runs is c.
        run = self.assertStatus(self.replay(
            failed["id"], {"from_step": "gate.boom", "input": {"fail": False, "x": 3}}), 201)
        self.assertEqual(run["replay_from_step"], "gate.boom")
        self.assertEqual(s.wait_status(run["id"], *TERMINAL)["status"], "completed")
        self.assertEqual((t.hits(a_path), t.hits(c_path)), (1, 1))
        # From the first step: nothing kept, everything runs again.
        run = self.assertStatus(self.replay(
            failed["id"], {"from_step": "a", "input": {"fail": False, "x": 4}}), 201)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed")
        self.assertFalse(any(st["copied"] for st in done["steps"]), done["steps"])
        self.assertEqual((t.hits(a_path), t.hits(c_path)), (2, 2))
        self.assertEqual(done["output"], {"b": {"a_n": 2, "x": 4}, "x": 4, "c_n": 2})

    def test_rerun_with_the_same_input_fails_again_without_calling_a(self):
        s, t = self.server, self.target
        failed, a_path, c_path = self.failed_run("rr-same")
        run = self.assertStatus(self.replay(failed["id"], {"from_step": "gate"}), 201)
        self.assertEqual(run["input"], {"fail": True, "x": 1})
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "failed")
        self.assertEqual(done["error"]["step_id"], "boom")
        self.assertEqual((t.hits(a_path), t.hits(c_path)), (1, 0))

    def test_loop_iteration(self):
        s, t = self.server, self.target
        path = t.route(t.unique_path("loop"), handler=lambda rec, n: (200, {"n": n}))
        s.put_workflow({"id": "rr-loop", "steps": [
            {"id": "l", "type": "loop", "with": {"max_iterations": 3},
             "steps": [http_step("c", t.url(path)), noop("d", "${{ steps.c.output.body.n }}")]},
            noop("after", {"loop": "${{ steps.l.output }}", "d": "${{ steps.d.output }}"})]})
        first = s.run_and_wait("rr-loop")
        self.assertEqual(first["status"], "completed", first)
        self.assertEqual(t.hits(path), 3)

        preview = self.assertStatus(self.replay(
            first["id"], {"from_step": "l[1].c", "preview": True}), 200)
        self.assertEqual(preview, {"kept": ["l[0].c", "l[0].d"],
                                   "will_run": ["l[1].c", "l[1].d", "after"]})
        run = self.assertStatus(self.replay(first["id"], {"from_step": "l[1].c"}), 201)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(t.hits(path), 5)  # iterations 1 and 2 again, not 0
        self.assertEqual(done["output"], {"loop": {"iterations": 3, "exhausted": False},
                                          "d": 5})
        self.assertTrue(find_step(done, "l[0].c")["copied"])
        self.assertEqual(find_step(done, "l[0].c")["output"]["body"], {"n": 1})
        self.assertFalse(find_step(done, "l[1].c")["copied"])
        self.assertFalse(find_step(done, "l")["copied"])
        self.assertEqual(find_step(done, "l")["status"], "completed")

        # A step inside a loop by its id alone names no iteration.
        err = self.assertError(self.replay(first["id"], {"from_step": "c"}), 400)
        self.assertEqual(err.get("field"), "from_step")
        self.assertIn("l[0].c", err["message"])
        for bad in ("l[3].c", "l[0].x", "after[0]", "l.c", "l[0]].c", "l[", ".c"):
            with self.subTest(from_step=bad):
                err = self.assertError(self.replay(first["id"], {"from_step": bad}), 400)
                self.assertEqual(err.get("field"), "from_step")
        # The loop itself: from its first iteration.
        preview = self.assertStatus(self.replay(
            first["id"], {"from_step": "l", "preview": True}), 200)
        self.assertEqual(preview, {"kept": [], "will_run": ["l[0].c", "l[0].d", "after"]})

    # ------------------------------------------------------------------ preview

    def test_preview_changes_nothing(self):
        s, t = self.server, self.target
        failed, a_path, c_path = self.failed_run("rr-preview")
        before = len(s.list_all("/api/v1/runs?workflow_id=rr-preview"))
        resp = self.replay(failed["id"], {"from_step": "gate", "preview": True})
        self.assertEqual(self.assertStatus(resp, 200),
                         {"kept": ["a", "b"], "will_run": ["gate.boom", "c", "d"]})
        preview = self.assertStatus(self.replay(failed["id"], {
            "from_step": "gate", "input": {"fail": False}, "preview": True}), 200)
        self.assertEqual(preview, {"kept": ["a", "b"], "will_run": ["c", "d"]})
        preview = self.assertStatus(self.replay(failed["id"], {"preview": True}), 200)
        self.assertEqual(preview, {"kept": [], "will_run": ["a", "b", "gate", "c", "d"]})
        self.assertEqual(len(s.list_all("/api/v1/runs?workflow_id=rr-preview")), before)
        self.assertEqual((t.hits(a_path), t.hits(c_path)), (1, 0))
        self.assertEqual(s.get_run(failed["id"])["version"], failed["version"])

    # ----------------------------------------------------------------- versions

    def test_versions(self):
        s = self.server
        s.put_workflow({"id": "rr-ver", "steps": [
            noop("a", {"v": 1, "x": "${{ input.x }}"}), noop("b", "${{ steps.a.output }}")]})
        first = s.run_and_wait("rr-ver", {"x": "one"})
        self.assertEqual(first["output"], {"v": 1, "x": "one"})
        s.put_workflow({"id": "rr-ver", "steps": [
            noop("a", {"v": 2, "x": "${{ input.x }}"}),
            noop("c", {"from_a": "${{ steps.a.output }}", "v": 2})]})

        def rerun(body, version, output):
            run = self.assertStatus(self.replay(first["id"], body), 201)
            self.assertEqual(run["workflow_version"], version, body)
            done = s.wait_status(run["id"], *TERMINAL)
            self.assertEqual(done["status"], "completed", done)
            self.assertEqual(done["output"], output, body)
            return done

        # No body and an empty body: the run's own version from the start, as always.
        for body in (None, {}):
            with self.subTest(body=body):
                rerun(body, 1, {"v": 1, "x": "one"})
        rerun({"version": "same"}, 1, {"v": 1, "x": "one"})
        rerun({"version": 1}, 1, {"v": 1, "x": "one"})
        rerun({"version": "latest"}, 2, {"from_a": {"v": 2, "x": "one"}, "v": 2})
        rerun({"version": 2, "input": {"x": "two"}}, 2, {"from_a": {"v": 2, "x": "two"}, "v": 2})
        # From c of version 2: a (in both versions) keeps version 1's output.
        done = rerun({"version": "latest", "from_step": "c"}, 2,
                     {"from_a": {"v": 1, "x": "one"}, "v": 2})
        self.assertTrue(find_step(done, "a")["copied"])
        self.assertEqual(done["replay_from_step"], "c")
        done = rerun({"from_step": "b"}, 1, {"v": 1, "x": "one"})
        self.assertTrue(find_step(done, "a")["copied"])

        # b is not in version 2; c is not in version 1.
        for body in ({"version": "latest", "from_step": "b"}, {"from_step": "c"},
                     {"version": 2, "from_step": "nope"}):
            with self.subTest(body=body):
                err = self.assertError(self.replay(first["id"], body), 400)
                self.assertEqual(err.get("field"), "from_step")
        for version in (3, 99999):
            with self.subTest(version=version):
                self.assertError(self.replay(first["id"], {"version": version}), 404,
                                 "not_found")

        # A step new in the chosen version runs, with what follows it: only the steps
        # of the earlier run that the version still has before from_step are kept.
        s.put_workflow({"id": "rr-ver", "steps": [
            noop("z", "new"), noop("a", {"v": 3}), noop("c", "${{ steps.a.output }}")]})
        preview = self.assertStatus(self.replay(
            first["id"], {"version": "latest", "from_step": "c", "preview": True}), 200)
        self.assertEqual(preview, {"kept": [], "will_run": ["z", "a", "c"]})

    # --------------------------------------------------------------- refusals

    def test_bad_bodies_are_400(self):
        s = self.server
        s.put_workflow({"id": "rr-bad", "steps": [noop("a", 1)]})
        run = s.run_and_wait("rr-bad")
        for body, field in (({"from": "a"}, "from"),
                            ({"from_step": 5}, "from_step"),
                            ({"from_step": ["a"]}, "from_step"),
                            ({"from_step": ""}, "from_step"),
                            ({"from_step": "x" * 2000}, "from_step"),
                            ({"input": [1]}, "input"),
                            ({"input": "x"}, "input"),
                            ({"version": "old"}, "version"),
                            ({"version": 0}, "version"),
                            ({"version": 1.5}, "version"),
                            ({"version": True}, "version"),
                            ({"preview": "yes"}, "preview"),
                            ({"preview": 1}, "preview")):
            with self.subTest(body=body):
                err = self.assertError(self.replay(run["id"], body), 400)
                self.assertEqual(err.get("field"), field, err)
        self.assertError(s.api("POST", f"/api/v1/runs/{run['id']}/replay", [1]), 400)
        self.assertEqual(len(s.list_all("/api/v1/runs?workflow_id=rr-bad")), 1)

    def test_running_run_is_409_and_unknown_run_404(self):
        s = self.server
        s.put_workflow({"id": "rr-wait", "steps": [
            noop("a", 1), {"id": "gate", "type": "wait_for_event", "with": {"event_type": "go"}}]})
        run = s.start_run("rr-wait")
        s.wait_status(run["id"], "waiting")
        for body in (None, {"from_step": "gate"}, {"from_step": "gate", "preview": True}):
            with self.subTest(body=body):
                self.assertError(self.replay(run["id"], body), 409, "invalid_transition")
        self.assertEqual(len(s.list_all("/api/v1/runs?workflow_id=rr-wait")), 1)
        self.assertError(self.replay("run_00000000000000000000000000", {"from_step": "a"}),
                         404, "not_found")
        self.assertStatus(s.control(run["id"], "cancel"), 200)
        # Cancelled is finished: it reruns from the wait, a kept.
        rerun = self.assertStatus(self.replay(run["id"], {"from_step": "gate"}), 201)
        s.wait_status(rerun["id"], "waiting")
        self.assertTrue(find_step(s.get_run(rerun["id"]), "a")["copied"])
        self.assertStatus(s.control(rerun["id"], "cancel"), 200)

    # ---------------------------------------------------------------------- CLI

    def cli(self, *args):
        s = self.server
        return subprocess.run(
            [s.binary, *args, "--server", f"http://{s.host}:{s.port}", "--token",
             s.admin_token], capture_output=True, text=True, timeout=scaled(30))

    def test_cli_runs_replay(self):
        s, t = self.server, self.target
        failed, a_path, c_path = self.failed_run("rr-cli")
        out = self.cli("runs", "replay", failed["id"], "--from-step", "gate", "--input",
                       '{"fail": false, "x": 5}', "--preview")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("Would keep (copied, not run again): a, b", out.stdout)
        self.assertIn("Would run: c, d", out.stdout)
        self.assertEqual(len(s.list_all("/api/v1/runs?workflow_id=rr-cli")), 1)

        out = self.cli("runs", "replay", failed["id"], "--from-step", "gate", "--input",
                       '{"fail": false, "x": 5}', "--version", "same")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn(f"a replay of {failed['id']} from step gate", out.stdout)
        runs = s.list_all("/api/v1/runs?workflow_id=rr-cli")
        new_id = [r["id"] for r in runs if r["id"] != failed["id"]][0]
        self.assertIn(new_id, out.stdout)
        done = s.wait_status(new_id, *TERMINAL)
        self.assertEqual(done["status"], "completed")
        self.assertEqual((t.hits(a_path), t.hits(c_path)), (1, 1))

        shown = self.cli("runs", "get", new_id)
        self.assertEqual(shown.returncode, 0, shown.stderr)
        self.assertIn("Replay from", shown.stdout)
        self.assertIn("completed (copied)", shown.stdout)

        bad = self.cli("runs", "replay", failed["id"], "--version", "99")
        self.assertNotEqual(bad.returncode, 0)
        bad = self.cli("runs", "replay", failed["id"], "--input", "{nope")
        self.assertNotEqual(bad.returncode, 0)


if __name__ == "__main__":
    unittest.main()
