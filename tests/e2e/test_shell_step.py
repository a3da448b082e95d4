"""The `shell` step (server flag --allow-shell): output {exit_code, stdout, stderr,
stdout_truncated, stderr_truncated}, the environment allowlist (PATH of the server plus
the step's env, nothing else), cwd, argv run without a shell, non-zero exit codes,
programs that cannot be started, the 64 KiB output cap, refusal without --allow-shell,
and that cancel and timeout stop the attempt's whole process group and every process
that left it (a grandchild that calls setsid, a double fork), under either containment
(a cgroup per attempt where the machine allows it, the keeper alone otherwise).

Process checks: a shell step writes its own pid and the pids of its background
grandchildren to a file; after cancel/timeout all must be gone. PID 1 of a container may
not reap orphans, so a process counts as dead when /proc/<pid>/stat is missing or shows
state Z.
"""

import os
import shutil
import tempfile
import unittest

from harness import E2ETestCase, TERMINAL, find_step, noop, process_dead, wait_until

SECRET_ENV = "STEPWELL_E2E_SHELL_SECRET"


def shell(step_id, argv, env=None, cwd=None, timeout=None):
    step = {"id": step_id, "type": "shell", "with": {"argv": argv}}
    if env is not None:
        step["with"]["env"] = env
    if cwd is not None:
        step["with"]["cwd"] = cwd
    if timeout is not None:
        step["timeout"] = timeout
    return step


def read_pids(path, count=2):
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.strip() for line in f if line.strip()]
    except FileNotFoundError:
        return None
    if len(lines) < count:
        return None
    return [int(x) for x in lines[:count]]


# The step's shell starts a background grandchild (sleep 300), writes the grandchild's
# pid and then its own pid to the file, and waits.
def tree_script(pid_file):
    return ["sh", "-c", f"sleep 300 & echo $! > {pid_file}; echo $$ >> {pid_file}; wait"]


# The step's shell starts two grandchildren that leave its session and group — one calls
# setsid, one is double-forked (orphaned at once) — each writing its pid to the file,
# writes its own pid, and waits. Both ignore SIGTERM.
def escape_script(pid_file):
    escapee = f"setsid sh -c 'trap \"\" TERM; echo $$ >> {pid_file}; exec sleep 300'"
    return ["sh", "-c", f"{escapee} & ({escapee} &); echo $$ >> {pid_file}; wait"]


class ProcessTreeMixin:
    """Starts a run whose shell step writes the pids of its processes to a file, and
    waits for them to end. Needs `server` and `tmp`."""

    def start_processes(self, wf, script, count, **step_fields):
        s = self.server
        pid_file = os.path.join(self.tmp, f"{self._testMethodName}-pids")
        s.put_workflow({"id": wf, "steps": [
            shell("a", script(pid_file), **step_fields), noop("after", "never")]})
        run = s.start_run(wf)
        pids = wait_until(lambda: read_pids(pid_file, count), timeout=15,
                          desc="the step's processes to write their pids")
        for pid in pids:
            self.addCleanup(_kill_quietly, pid)
        self.assertFalse(any(process_dead(pid) for pid in pids), pids)
        return run, pids

    def assert_all_dead(self, pids):
        # SIGTERM first, SIGKILL after 2 s: allow well beyond that.
        wait_until(lambda: all(process_dead(pid) for pid in pids), timeout=15,
                   desc=f"processes {pids} (the shell and its grandchildren) to end")


class ShellStepTest(ProcessTreeMixin, E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server(fake_clock=True, extra_args=["--allow-shell"],
                                      env={SECRET_ENV: "must-not-leak"})
        cls.tmp = tempfile.mkdtemp(prefix="stepwell-e2e-shell-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, f"{self._testMethodName}-{name}")

    def test_output_exit_code_and_stderr(self):
        s = self.server
        s.put_workflow({"id": "sh-out", "steps": [
            shell("a", ["sh", "-c", "printf 'hello\\nworld\\n'; printf 'warn' >&2"]),
            noop("after", "${{ steps.a.output.stdout }}")]})
        run = s.run_and_wait("sh-out", timeout=20)
        self.assertEqual(run["status"], "completed", run)
        self.assertEqual(find_step(run, "a")["output"], {
            "exit_code": 0, "stdout": "hello\nworld\n", "stderr": "warn",
            "stdout_truncated": False, "stderr_truncated": False})
        self.assertEqual(run["output"], "hello\nworld\n")

    def test_env_is_path_plus_step_env_only(self):
        s = self.server
        s.put_workflow({"id": "sh-env", "steps": [
            shell("a", ["env"], env={"GREETING": "hi there", "N": "1"})]})
        run = s.run_and_wait("sh-env", timeout=20)
        self.assertEqual(run["status"], "completed", run)
        lines = run["output"]["stdout"].splitlines()
        env = dict(line.split("=", 1) for line in lines)
        self.assertEqual(set(env), {"PATH", "GREETING", "N"}, run["output"])
        self.assertEqual(env["PATH"], s.env["PATH"])
        self.assertEqual(env["GREETING"], "hi there")
        self.assertEqual(env["N"], "1")
        self.assertNotIn("must-not-leak", run["output"]["stdout"])
        self.assertNotIn("HOME", env)
        self.assertNotIn("STEPWELL_ADMIN_TOKEN", env)
        self.assertNotIn(s.admin_token, run["output"]["stdout"])

    def test_cwd(self):
        s = self.server
        workdir = os.path.realpath(tempfile.mkdtemp(dir=self.tmp))
        s.put_workflow({"id": "sh-cwd", "steps": [shell("a", ["pwd", "-P"], cwd=workdir)]})
        run = s.run_and_wait("sh-cwd", timeout=20)
        self.assertEqual(run["status"], "completed", run)
        self.assertEqual(run["output"]["stdout"], workdir + "\n")

    def test_argv_is_not_run_through_a_shell(self):
        s = self.server
        marker = self.path("marker")
        s.put_workflow({"id": "sh-argv", "steps": [
            shell("a", ["echo", "$HOME;", "ls", "|", "touch", marker, "`id`", "*"])]})
        run = s.run_and_wait("sh-argv", timeout=20)
        self.assertEqual(run["status"], "completed", run)
        self.assertEqual(run["output"]["stdout"], f"$HOME; ls | touch {marker} `id` *\n")
        self.assertFalse(os.path.exists(marker))

    def test_nonzero_exit_fails_and_keeps_output(self):
        s = self.server
        s.put_workflow({"id": "sh-exit", "steps": [
            shell("a", ["sh", "-c", "echo partial; echo broken >&2; exit 3"]),
            noop("after", "never")]})
        run = s.run_and_wait("sh-exit", timeout=20)
        self.assertEqual(run["status"], "failed", run)
        self.assertEqual(run["error"]["step_id"], "a")
        self.assertEqual(run["error"]["code"], "exit_code")
        step = find_step(run, "a")
        self.assertEqual(step["status"], "failed")
        self.assertEqual(step["error"]["code"], "exit_code")
        self.assertEqual(step["output"], {
            "exit_code": 3, "stdout": "partial\n", "stderr": "broken\n",
            "stdout_truncated": False, "stderr_truncated": False})
        self.assertEqual(find_step(run, "after")["status"], "pending")

    def test_missing_program_is_spawn_failed(self):
        s = self.server
        s.put_workflow({"id": "sh-spawn", "steps": [
            shell("a", ["/nonexistent/stepwell-e2e-no-such-program", "x"]),
            noop("after", "never")]})
        run = s.run_and_wait("sh-spawn", timeout=20)
        self.assertEqual(run["status"], "failed", run)
        self.assertEqual(run["error"]["code"], "spawn_failed")
        self.assertEqual(find_step(run, "a")["error"]["code"], "spawn_failed")
        self.assertTrue(find_step(run, "a")["error"]["message"])
        self.assertEqual(find_step(run, "after")["status"], "pending")

    def test_output_is_capped_at_64_kib(self):
        s = self.server
        script = ("head -c 100000 /dev/zero | tr '\\0' a; "
                  "head -c 70000 /dev/zero | tr '\\0' b >&2")
        s.put_workflow({"id": "sh-cap", "steps": [shell("a", ["sh", "-c", script])]})
        run = s.run_and_wait("sh-cap", timeout=20)
        self.assertEqual(run["status"], "completed", run)
        out = run["output"]
        self.assertEqual(out["exit_code"], 0)
        self.assertTrue(out["stdout_truncated"])
        self.assertTrue(out["stderr_truncated"])
        self.assertLessEqual(len(out["stdout"].encode()), 64 * 1024)
        self.assertLessEqual(len(out["stderr"].encode()), 64 * 1024)
        self.assertTrue(out["stdout"].startswith("a" * 60000), out["stdout"][:100])
        self.assertTrue(out["stderr"].startswith("b" * 60000), out["stderr"][:100])

    def test_output_just_under_the_cap_is_not_truncated(self):
        s = self.server
        s.put_workflow({"id": "sh-under", "steps": [
            shell("a", ["sh", "-c", "head -c 65536 /dev/zero | tr '\\0' c"])]})
        run = s.run_and_wait("sh-under", timeout=20)
        self.assertEqual(run["status"], "completed", run)
        self.assertFalse(run["output"]["stdout_truncated"])
        self.assertEqual(run["output"]["stdout"], "c" * 65536)

    def start_tree(self, wf, **step_fields):
        return self.start_processes(wf, tree_script, 2, **step_fields)

    def test_cancel_kills_the_process_group(self):
        s = self.server
        run, pids = self.start_tree("sh-cancel")
        s.wait_step(run["id"], "a", "running")
        resp = s.control(run["id"], "cancel", {"reason": "stop the shell"})
        self.assertStatus(resp, 200)
        self.assertEqual(resp.json["status"], "cancelled")
        self.assert_all_dead(pids)
        done = s.wait_step(run["id"], "a", "cancelled", timeout=15)
        self.assertEqual(done["status"], "cancelled")
        self.assertEqual(done["cancel"]["reason"], "stop the shell")
        self.assertEqual(find_step(done, "after")["status"], "pending")

    def test_timeout_kills_the_process_group(self):
        s = self.server
        run, pids = self.start_tree("sh-timeout", timeout="1s")
        s.wait_step(run["id"], "a", "running")
        # Whichever clock times the attempt, it is past 1 s soon.
        s.advance_clock(2000)
        done = s.wait_status(run["id"], *TERMINAL, timeout=20)
        self.assert_all_dead(pids)
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["error"]["code"], "timeout")
        self.assertEqual(done["error"]["step_id"], "a")
        step = find_step(done, "a")
        self.assertEqual(step["status"], "failed")
        self.assertEqual(step["error"]["code"], "timeout")
        self.assertEqual(find_step(done, "after")["status"], "pending")


class ShellContainmentTest(ProcessTreeMixin, E2ETestCase):
    """Processes that leave the attempt's group die with it; the server's default
    containment (a cgroup per attempt where the machine allows it)."""

    containment_args = []

    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server(fake_clock=True,
                                      extra_args=["--allow-shell", *cls.containment_args])
        cls.tmp = tempfile.mkdtemp(prefix="stepwell-e2e-contain-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)

    def start_escapes(self, wf, **step_fields):
        return self.start_processes(wf, escape_script, 3, **step_fields)

    def test_cancel_kills_grandchildren_that_left_the_group(self):
        s = self.server
        run, pids = self.start_escapes("esc-cancel")
        s.wait_step(run["id"], "a", "running")
        self.assertStatus(s.control(run["id"], "cancel", {"reason": "stop"}), 200)
        self.assert_all_dead(pids)
        self.assertEqual(s.wait_step(run["id"], "a", "cancelled", timeout=15)["status"],
                         "cancelled")

    def test_timeout_kills_grandchildren_that_left_the_group(self):
        s = self.server
        run, pids = self.start_escapes("esc-timeout", timeout="1s")
        s.wait_step(run["id"], "a", "running")
        s.advance_clock(2000)
        done = s.wait_status(run["id"], *TERMINAL, timeout=20)
        self.assert_all_dead(pids)
        self.assertEqual(done["error"]["code"], "timeout", done)


class ShellSubreaperContainmentTest(ShellContainmentTest):
    """The same with the keeper alone (no cgroups), as on a machine without them."""

    containment_args = ["--shell-containment", "subreaper"]


def _kill_quietly(pid):
    try:
        os.kill(pid, 9)
    except OSError:
        pass


class ShellNotAllowedTest(E2ETestCase):
    """Without --allow-shell a definition with a shell step is refused."""

    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server()

    def test_definition_with_shell_step_is_refused(self):
        s = self.server
        resp = s.request("PUT", "/api/v1/workflows/sh-refused", {"id": "sh-refused", "steps": [
            noop("first", 1), shell("run-it", ["echo", "hi"])]})
        err = self.assertError(resp, 400, "invalid_definition")
        self.assertEqual(err.get("step_id"), "run-it", resp)
        self.assertEqual(err.get("field"), "type", resp)
        self.assertEqual(s.request("GET", "/api/v1/workflows/sh-refused").status, 404)

    def test_shell_step_inside_a_loop_is_refused(self):
        s = self.server
        resp = s.request("PUT", "/api/v1/workflows/sh-refused-loop", {
            "id": "sh-refused-loop", "steps": [
                {"id": "l", "type": "loop", "with": {"max_iterations": 2},
                 "steps": [shell("inner", ["echo", "hi"])]}]})
        err = self.assertError(resp, 400, "invalid_definition")
        self.assertEqual(err.get("step_id"), "inner", resp)


if __name__ == "__main__":
    unittest.main()
