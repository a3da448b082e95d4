"""Restart with work in flight: SIGKILL the server while
  - a shell step is in flight (it runs again after the restart, the lost attempt is
    listed as `interrupted`, steps that completed before the crash do not run again;
    grandchildren that left its group die with the server, and the attempt that runs
    after the restart finds nothing of the lost one running, even when the lost
    attempt's keeper was killed too, where attempts have cgroups),
  - a run waits in a retry back-off (the back-off survives; the next attempt runs),
  - a parent waits on a child run (the child goes on; its end wakes the parent),
  - an agent task is claimed (the agent can still complete it; or its lease lapses and
    it goes back to the queue).

Each test has a server of its own on --fake-clock. A fake clock restarts at the real
time with the process, so after a restart the tests move it far enough forward for
whatever is due (never by a tight amount).

Shell steps count their attempts in marker files (one line per run of the program).
"""

import os
import shutil
import signal
import tempfile
import unittest

from harness import (E2ETestCase, TERMINAL, Target, find_step, http_step, noop, process_dead,
                     wait_until)


def shell(step_id, script, **fields):
    step = {"id": step_id, "type": "shell", "with": {"argv": ["sh", "-c", script]}}
    step.update(fields)
    return step


def lines(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [line for line in f.read().splitlines() if line]
    except FileNotFoundError:
        return []


def parent_of(pid):
    with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def _kill_quietly(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


class RestartWithWorkInFlightTest(E2ETestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="stepwell-e2e-in-flight-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)

    def file(self, name):
        return os.path.join(self.tmp, name)

    def server_(self, **kwargs):
        return self.start_test_server(fake_clock=True, extra_args=["--allow-shell"], **kwargs)

    # ------------------------------------------------------------ shell steps

    def test_shell_step_in_flight_runs_again(self):
        s = self.server_()
        first, slow, last, pids = (self.file(n) for n in ("first", "slow", "last", "pids"))
        # The slow step blocks on its first run only (exec: sleep is the direct child, so
        # it dies with the server) and succeeds on the next.
        slow_script = (f"echo run >> {slow}; if [ $(wc -l < {slow}) -ge 2 ]; then "
                       f"echo again; exit 0; fi; echo $$ >> {pids}; exec sleep 300")
        s.put_workflow({"id": "inflight-shell", "steps": [
            shell("first", f"echo run >> {first}; echo first"),
            shell("slow", slow_script),
            shell("last", f"echo run >> {last}; echo last")]})
        slow_r, pids_r = self.file("slow-r"), self.file("pids-r")
        s.put_workflow({"id": "inflight-shell-retry", "steps": [
            shell("slow", slow_script.replace(slow, slow_r).replace(pids, pids_r),
                  retry={"max_attempts": 3, "backoff": "fixed", "initial": "1s"})]})
        run = s.start_run("inflight-shell")
        run_r = s.start_run("inflight-shell-retry")
        for run_id, pid_file in ((run["id"], pids), (run_r["id"], pids_r)):
            s.wait_step(run_id, "slow", "running", timeout=20)
            wait_until(lambda: lines(pid_file), timeout=20, desc="the slow step to start")
        sleepers = [int(lines(pids)[0]), int(lines(pids_r)[0])]
        self.assertEqual(find_step(s.get_run(run["id"]), "first")["status"], "completed")

        s.kill(signal.SIGKILL)
        # The step's process dies with the server (PR_SET_PDEATHSIG).
        wait_until(lambda: all(process_dead(p) for p in sleepers), timeout=15,
                   desc="the shell steps' processes to die with the server")
        s.start()

        done = self.finish(s, run["id"])
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["output"]["stdout"], "last\n")
        self.assertEqual(len(lines(first)), 1, "a completed step ran again")
        self.assertEqual(len(lines(slow)), 2)
        self.assertEqual(len(lines(last)), 1)
        step = find_step(done, "slow")
        self.assertEqual(step["status"], "completed")
        self.assertEqual(step["output"]["stdout"], "again\n")
        self.assertEqual([(a["attempt"], a["error"]["code"]) for a in step["attempts"]],
                         [(1, "interrupted")], step)
        self.assertEqual(step["attempt"], 2)
        self.assertEqual(find_step(done, "first")["attempts"], [])

        done_r = self.finish(s, run_r["id"])
        self.assertEqual(done_r["status"], "completed", done_r)
        step = find_step(done_r, "slow")
        self.assertEqual([(a["attempt"], a["error"]["code"]) for a in step["attempts"]],
                         [(1, "interrupted")], step)
        self.assertEqual(step["attempt"], 2)
        self.assertEqual(len(lines(slow_r)), 2)

    def finish(self, s, run_id, timeout=30):
        """Waits for the run to end, moving the fake clock over any retry back-off."""
        def ended():
            run = s.get_run(run_id)
            if run["status"] in TERMINAL:
                return run
            if (run.get("wait") or {}).get("kind") == "retry":
                s.advance_clock(60 * 60 * 1000)
            return None

        return wait_until(ended, timeout=timeout, desc=f"run {run_id} to end")

    def test_interrupted_attempt_counts_toward_max_attempts(self):
        s = self.server_()
        marker, pids = self.file("m"), self.file("p")
        s.put_workflow({"id": "inflight-shell-once", "steps": [
            shell("slow", f"echo run >> {marker}; echo $$ >> {pids}; exec sleep 300",
                  retry={"max_attempts": 2, "backoff": "fixed", "initial": "1s"})]})
        run = s.start_run("inflight-shell-once")
        wait_until(lambda: len(lines(pids)) == 1, timeout=20, desc="attempt 1 to start")
        s.wait_step(run["id"], "slow", "running")
        s.restart(signal.SIGKILL)
        wait_until(lambda: len(lines(pids)) == 2, timeout=30, desc="attempt 2 to start")
        s.wait_step(run["id"], "slow", "running")
        s.restart(signal.SIGKILL)
        # Both attempts were interrupted: max_attempts (2) is used up.
        done = self.finish(s, run["id"])
        self.assertEqual(done["status"], "failed", done)
        self.assertEqual(done["error"]["code"], "interrupted")
        step = find_step(done, "slow")
        # `attempts` lists the earlier attempts; the last one is the step's own.
        self.assertEqual(step["attempt"], 2)
        self.assertEqual([a["error"]["code"] for a in step["attempts"]], ["interrupted"])
        self.assertEqual(step["error"]["code"], "interrupted")
        # No third attempt: the engine has let go of the run, and its program ran twice.
        s.wait_engine_idle()
        self.assertEqual(len(lines(marker)), 2)

    def escaping_step(self, name):
        """A shell step whose first run writes its own pid to `name`-leader, starts two
        grandchildren that leave its group (setsid; a double fork) writing theirs to
        `name`-pids, and sleeps; whose next run lists in `name`-overlap whatever of those
        still runs, and succeeds."""
        marker, leader, pids, overlap = (self.file(f"{name}-{n}")
                                         for n in ("marker", "leader", "pids", "overlap"))
        escapee = f"setsid sh -c 'echo $$ >> {pids}; exec sleep 300'"
        script = (
            f"touch {marker}; n=$(wc -l < {marker}); echo run >> {marker}; "
            f"if [ $n -ge 1 ]; then for p in $(cat {leader} {pids}); do "
            f"if [ -e /proc/$p ] && ! grep -q '^State:.*Z' /proc/$p/status; then "
            f"echo $p >> {overlap}; fi; done; echo again; exit 0; fi; "
            f"echo $$ > {leader}; {escapee} & ({escapee} &); exec sleep 300")
        return shell(name, script), marker, leader, pids, overlap

    def start_escaping_run(self, s, wf):
        step, marker, leader, pids, overlap = self.escaping_step("esc")
        s.put_workflow({"id": wf, "steps": [step]})
        run = s.start_run(wf)
        wait_until(lambda: len(lines(pids)) == 2 and lines(leader), timeout=20,
                   desc="the step and its escaped grandchildren to start")
        old = [int(p) for p in lines(leader) + lines(pids)]
        for pid in old:
            self.addCleanup(_kill_quietly, pid)
        s.wait_step(run["id"], "esc", "running")
        return run, old, marker, overlap

    def assert_ran_alone_after_restart(self, s, run, marker, overlap):
        done = self.finish(s, run["id"])
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(len(lines(marker)), 2)
        self.assertEqual(lines(overlap), [], "the new attempt ran beside the lost one")
        self.assertEqual([a["error"]["code"] for a in find_step(done, "esc")["attempts"]],
                         ["interrupted"])

    def test_escaped_grandchildren_die_with_the_server(self):
        for args in ([], ["--shell-containment", "subreaper"]):
            with self.subTest(containment=args or "auto"):
                s = self.start_test_server(fake_clock=True, extra_args=["--allow-shell", *args])
                run, old, marker, overlap = self.start_escaping_run(s, "inflight-escape")
                s.kill(signal.SIGKILL)
                wait_until(lambda: all(process_dead(p) for p in old), timeout=15,
                           desc="the attempt's processes to die with the server")
                s.start()
                self.assert_ran_alone_after_restart(s, run, marker, overlap)
                s.close()
                for name in os.listdir(self.tmp):
                    os.unlink(self.file(name))

    def test_restarted_server_ends_what_a_killed_keeper_left(self):
        """The keeper is killed with the server, so only the attempt's cgroup still holds
        the grandchildren that left the group: the restarted server kills it (the
        attempt's record names it) before the engine runs the step again. Without cgroups
        they are out of reach then (docs/life_of_a_run.md)."""
        s = self.server_()
        if "in a cgroup each" not in s.log_text():
            self.skipTest("no attempt cgroups on this machine")
        run, old, marker, overlap = self.start_escaping_run(s, "inflight-killed-keeper")
        keeper = parent_of(old[0])
        os.kill(keeper, signal.SIGKILL)
        s.kill(signal.SIGKILL)
        s.start()
        # Ended before the server listened.
        self.assertTrue(all(process_dead(p) for p in old), old)
        self.assert_ran_alone_after_restart(s, run, marker, overlap)
        self.assertEqual(os.listdir(os.path.join(s.data_dir, "processes")), [])

    # ---------------------------------------------------------- retry back-off

    def test_retry_backoff_survives_restart(self):
        target = Target()
        self.addCleanup(target.close)
        s = self.server_(allow_private_targets=True)
        path = target.route(target.unique_path("flaky"), handler=lambda rec, n: (
            (503, {"n": n}) if n == 1 else (200, {"n": n})))
        s.put_workflow({"id": "inflight-retry", "steps": [
            dict(http_step("h", target.url(path)),
                 retry={"max_attempts": 3, "backoff": "fixed", "initial": "1h",
                        "max": "1h"}),
            noop("after", "${{ steps.h.output.body.n }}")]})
        run = s.start_run("inflight-retry")
        before = s.wait_for(run["id"], lambda r: (r.get("wait") or {}).get("kind") == "retry")

        s.restart(signal.SIGKILL)
        after = s.get_run(run["id"])
        self.assertEqual(after["status"], "waiting")
        self.assertEqual(after["wait"], before["wait"])
        self.assertEqual(find_step(after, "h")["attempts"], find_step(before, "h")["attempts"])
        # No attempt before the back-off ends: the restarted clock is the real time, under
        # an hour after the failure; every timer due by then (and a minute on) has fired.
        s.advance_clock_and_settle(60 * 1000)
        self.assertEqual(s.get_run(run["id"])["wait"], before["wait"])
        self.assertEqual(target.hits(path), 1)
        s.advance_clock(2 * 60 * 60 * 1000)
        done = s.wait_status(run["id"], *TERMINAL, timeout=15)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["output"], 2)
        self.assertEqual(target.hits(path), 2)
        self.assertEqual(find_step(done, "h")["attempt"], 2)

    # -------------------------------------------------------------- child runs

    def test_parent_waiting_on_child_survives_restart(self):
        s = self.server_()
        s.put_workflow({"id": "inflight-child", "steps": [
            {"id": "w", "type": "wait_for_event", "with": {"event_type": "go"}},
            noop("answer", {"said": "${{ steps.w.output.payload.word }}"})]})
        s.put_workflow({"id": "inflight-parent", "steps": [
            {"id": "call", "type": "workflow", "with": {"workflow": "inflight-child"}},
            noop("after", "${{ steps.call.output.said }}")]})
        run = s.start_run("inflight-parent")
        parent = s.wait_for(run["id"], lambda r: (r.get("wait") or {}).get("kind") == "child")
        child_id = parent["wait"]["child_run_id"]
        s.wait_status(child_id, "waiting")

        s.restart(signal.SIGKILL)
        self.assertEqual(s.get_run(run["id"])["wait"], parent["wait"])
        self.assertEqual(s.get_run(child_id)["status"], "waiting")
        self.assertEqual(s.send_event(child_id, "go", {"word": "hello"}).status, 202)
        self.assertEqual(s.wait_status(child_id, *TERMINAL)["status"], "completed")
        done = s.wait_status(run["id"], *TERMINAL, timeout=15)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["output"], "hello")
        self.assertEqual(find_step(done, "call")["output"], {"said": "hello"})

    def test_child_that_ends_while_parent_server_restarts(self):
        """The child ends just before the crash; the wake-up is committed with it."""
        s = self.server_()
        s.put_workflow({"id": "inflight-child2", "steps": [
            {"id": "w", "type": "wait_for_event", "with": {"event_type": "go"}}]})
        s.put_workflow({"id": "inflight-parent2", "steps": [
            {"id": "call", "type": "workflow", "with": {"workflow": "inflight-child2"}},
            noop("after", "${{ steps.call.output.payload }}")]})
        run = s.start_run("inflight-parent2")
        parent = s.wait_for(run["id"], lambda r: (r.get("wait") or {}).get("kind") == "child")
        child_id = parent["wait"]["child_run_id"]
        s.wait_status(child_id, "waiting")
        s.send_event(child_id, "go", {"v": 1})
        s.kill(signal.SIGKILL)
        s.start()
        done = s.wait_status(run["id"], *TERMINAL, timeout=15)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["output"], {"v": 1})

    # ------------------------------------------------------------- agent tasks

    def agent_setup(self, s, wf, queue, **fields):
        token = s.create_token("agent", "crash-bot")["token"]
        s.put_workflow({"id": wf, "steps": [
            {"id": "work", "type": "agent_task", "with": {"queue": queue, "input": {"q": 1}},
             **fields},
            noop("after", "${{ steps.work.output }}")]})
        run = s.start_run(wf)
        s.wait_for(run["id"], lambda r: (r.get("wait") or {}).get("kind") == "agent")
        resp = s.request("POST", "/api/v1/agents/claim",
                         {"agent_id": "a", "queues": [queue], "wait_ms": 5000}, token=token)
        self.assertStatus(resp, 200)
        return token, run, resp.json["task"]

    def test_claimed_agent_task_can_be_completed_after_restart(self):
        s = self.server_()
        token, run, task = self.agent_setup(s, "inflight-agent", "inflight-q")
        s.restart(signal.SIGKILL)
        beat = s.request("POST", f"/api/v1/agent-tasks/{task['id']}/heartbeat",
                         {"agent_id": "a"}, token=token)
        self.assertFalse(self.assertStatus(beat, 200)["cancelled"], beat)
        resp = s.request("POST", f"/api/v1/agent-tasks/{task['id']}/complete",
                         {"agent_id": "a", "output": {"done": True}}, token=token)
        self.assertEqual(self.assertStatus(resp, 200), {"discarded": False})
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["output"], {"done": True})

    def test_claimed_agent_task_lease_lapses_after_restart(self):
        s = self.server_()
        token, run, task = self.agent_setup(
            s, "inflight-agent-lapse", "inflight-lapse-q",
            retry={"max_attempts": 2, "backoff": "fixed", "initial": "1s"})
        s.restart(signal.SIGKILL)
        # The restarted fake clock starts at the real time: move it well past the lease.
        s.advance_clock(10 * 60 * 1000)
        waiting = s.wait_for(run["id"], lambda r: bool(find_step(r, "work")["attempts"]),
                             desc="the lapsed lease to be noticed")
        self.assertEqual(waiting["wait"]["last_error"]["code"], "lease_expired")
        s.advance_clock(60 * 1000)
        resp = s.request("POST", "/api/v1/agents/claim",
                         {"agent_id": "b", "queues": ["inflight-lapse-q"], "wait_ms": 10000},
                         token=token)
        again = self.assertStatus(resp, 200)["task"]
        self.assertEqual(again["id"], task["id"])
        self.assertEqual(again["attempt"], 2)
        late = s.request("POST", f"/api/v1/agent-tasks/{task['id']}/complete",
                         {"agent_id": "a", "output": "old"}, token=token)
        self.assertEqual(self.assertStatus(late, 200), {"discarded": True})
        resp = s.request("POST", f"/api/v1/agent-tasks/{task['id']}/complete",
                         {"agent_id": "b", "output": "new"}, token=token)
        self.assertEqual(self.assertStatus(resp, 200), {"discarded": False})
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["output"], "new")

    def test_queued_agent_task_survives_restart(self):
        s = self.server_()
        token = s.create_token("agent", "crash-bot")["token"]
        s.put_workflow({"id": "inflight-queued", "steps": [
            {"id": "work", "type": "agent_task", "with": {"queue": "inflight-queued-q"}}]})
        run = s.start_run("inflight-queued")
        before = s.wait_for(run["id"], lambda r: (r.get("wait") or {}).get("kind") == "agent")
        s.restart(signal.SIGKILL)
        resp = s.request("POST", "/api/v1/agents/claim",
                         {"agent_id": "a", "queues": ["inflight-queued-q"], "wait_ms": 10000},
                         token=token)
        task = self.assertStatus(resp, 200)["task"]
        self.assertEqual(task["id"], before["wait"]["task_id"])
        self.assertEqual(task["attempt"], 1)
        s.request("POST", f"/api/v1/agent-tasks/{task['id']}/complete",
                  {"agent_id": "a", "output": 5}, token=token)
        self.assertEqual(s.wait_status(run["id"], *TERMINAL)["output"], 5)


if __name__ == "__main__":
    unittest.main()
