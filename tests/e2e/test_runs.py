"""Runs: start, step types (noop, fail, switch, loop), trigger, long-poll, listing,
pagination, workflow-scoped reads, replay, idempotency and the SSE stream."""

import re
import time
import unittest
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from harness import (E2ETestCase, PendingRequest, SSEStream, TERMINAL, etag_version, find_step,
                     http_step, noop, parse_time, scaled, wait_until)


def steps_with_id(run, step_id):
    return [st for st in run["steps"] if st["id"] == step_id]


class RunsTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = cls.start_target()
        cls.server = cls.start_server(allow_private_targets=True)
        s = cls.server
        s.put_workflow({"id": "runs-basic", "steps": [
            noop("a", {"x": "${{ input.x }}"}),
            noop("b", {"last": True, "x": "${{ steps.a.output.x }}"})]})
        s.put_workflow({"id": "runs-gate", "steps": [
            {"id": "gate", "type": "wait_for_event", "with": {"event_type": "go"}},
            noop("done", "done")]})

    # ---------------------------------------------------------------- basics

    def test_start_then_complete(self):
        s = self.server
        resp = s.api("POST", "/api/v1/workflows/runs-basic/runs", {"input": {"x": 41}})
        run = self.assertStatus(resp, 201)
        self.assertTrue(run["id"].startswith("run_"), run["id"])
        self.assertRegex(run["id"], r"^[A-Za-z0-9_-]+$")
        self.assertEqual(run["workflow_id"], "runs-basic")
        self.assertEqual(run["workflow_version"], 1)
        self.assertEqual(run["status"], "pending")
        self.assertIsInstance(run["version"], int)
        self.assertEqual(etag_version(resp), run["version"])
        self.assertEqual(run["allowed_actions"], ["pause", "cancel"])
        for key in ("pause", "wait", "cancel", "output", "error", "replay_of", "finished_at"):
            self.assertIn(key, run)
            self.assertIsNone(run[key], key)
        self.assertEqual(run["input"], {"x": 41})
        self.assertEqual(run["trigger"]["kind"], "api")
        self.assertEqual(run["trigger"]["actor"], "token:admin")
        self.assertTime(run["created_at"])
        self.assertTime(run["updated_at"])
        self.assertEqual([(st["id"], st["status"], st["attempt"]) for st in run["steps"]],
                         [("a", "pending", 0), ("b", "pending", 0)])

        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed")
        self.assertEqual(done["output"], {"last": True, "x": 41})
        self.assertIsNone(done["error"])
        self.assertEqual(done["allowed_actions"], [])
        self.assertGreater(done["version"], run["version"])
        finished = self.assertTime(done["finished_at"])
        self.assertGreaterEqual(finished, self.assertTime(done["created_at"]))
        self.assertTime(done["started_at"])
        self.assertEqual([(st["id"], st["path"], st["type"], st["status"], st["attempt"])
                          for st in done["steps"]],
                         [("a", "a", "noop", "completed", 1), ("b", "b", "noop", "completed", 1)])
        self.assertEqual(done["steps"][0]["output"], {"x": 41})
        self.assertEqual(done["steps"][1]["output"], {"last": True, "x": 41})
        for st in done["steps"]:
            self.assertIsNone(st["error"])
            self.assertTime(st["started_at"])
            self.assertTime(st["finished_at"])

        resp = s.api("GET", f"/api/v1/runs/{run['id']}")
        self.assertEqual(etag_version(resp), resp.json["version"])

    def test_request_id_header(self):
        s = self.server
        resp = s.api("GET", "/api/v1/runs?limit=1", headers={"X-Request-Id": "e2e-req-42"})
        self.assertEqual(resp.headers.get("X-Request-Id"), "e2e-req-42")
        resp = s.api("GET", "/api/v1/runs?limit=1")
        self.assertTrue(resp.headers.get("X-Request-Id"))
        resp = s.api("GET", "/api/v1/runs/run_00000000000000000000000000")
        self.assertTrue(resp.headers.get("X-Request-Id"))

    def test_noop_expressions(self):
        s = self.server
        s.put_workflow({"id": "runs-expr", "steps": [
            noop("a", {"x": "${{ input.x }}", "greet": "hi ${{ input.name }}!",
                       "n_text": "n=${{ input.n }}", "missing": "${{ input.nope }}",
                       "missing_text": "[${{ input.nope }}]",
                       "item": "${{ input.nested.list[1] }}", "lit": "${{ 'str' }}",
                       "num": "${{ 2.5 }}", "plain": "no expressions"}),
            noop("b", {"from_a": "${{ steps.a.output.x }}",
                       "gt": "${{ input.n > 2 }}",
                       "and": "${{ input.flag && input.n >= 4 }}",
                       "or": "${{ input.flag || false }}",
                       "not": "${{ !input.flag }}",
                       "eq": "${{ steps.a.output.greet == 'hi bob!' }}",
                       "ne": "${{ input.name != \"bob\" }}",
                       "obj": "${{ input.nested }}",
                       "list": ["${{ input.n }}", "${{ steps.a.output.lit }}"]})]})
        run = s.run_and_wait("runs-expr", {"x": 5, "name": "bob", "n": 3, "flag": True,
                                           "nested": {"list": [10, 20]}})
        self.assertEqual(run["status"], "completed", run)
        self.assertEqual(find_step(run, "a")["output"], {
            "x": 5, "greet": "hi bob!", "n_text": "n=3", "missing": None,
            "missing_text": "[]", "item": 20, "lit": "str", "num": 2.5,
            "plain": "no expressions"})
        self.assertEqual(run["output"], {
            "from_a": 5, "gt": True, "and": False, "or": True, "not": False, "eq": True,
            "ne": False, "obj": {"list": [10, 20]}, "list": [3, "str"]})

    def test_fail_step(self):
        s = self.server
        s.put_workflow({"id": "runs-fail", "steps": [
            noop("a", 1),
            {"id": "f", "type": "fail", "with": {"message": "boom ${{ input.who }}",
                                                 "code": "my_code"}},
            noop("c", 3)]})
        run = s.run_and_wait("runs-fail", {"who": "here"})
        self.assertEqual(run["status"], "failed")
        self.assertEqual(run["error"], {"message": "boom here", "step_id": "f", "code": "my_code"})
        self.assertEqual(run["allowed_actions"], [])
        self.assertTime(run["finished_at"])
        self.assertEqual(find_step(run, "a")["status"], "completed")
        self.assertEqual(find_step(run, "f")["status"], "failed")
        self.assertEqual(find_step(run, "c")["status"], "pending")
        self.assertEqual(find_step(run, "c")["attempt"], 0)

    def test_switch(self):
        s = self.server
        s.put_workflow({"id": "runs-switch", "steps": [
            {"id": "s", "type": "switch", "with": {
                "cases": [
                    {"when": "${{ input.x > 10 }}", "steps": [noop("huge", "huge")]},
                    {"when": "${{ input.x > 1 }}", "steps": [noop("big1", "big-1"),
                                                            noop("big", "big")]}],
                "default": [noop("small", "small")]}},
            noop("after", {"chosen": "${{ steps.s.output }}"})]})
        for x, chosen, ran, not_ran in ((2, "big", ["big1", "big"], ["huge", "small"]),
                                        (20, "huge", ["huge"], ["big1", "big", "small"]),
                                        (0, "small", ["small"], ["huge", "big1", "big"])):
            with self.subTest(x=x):
                run = s.run_and_wait("runs-switch", {"x": x})
                self.assertEqual(run["status"], "completed", run)
                self.assertEqual(run["output"], {"chosen": chosen})
                self.assertEqual(find_step(run, "s")["output"], chosen)
                for sid in ran:
                    got = steps_with_id(run, sid)
                    self.assertEqual([st["status"] for st in got], ["completed"], sid)
                for sid in not_ran:
                    for st in steps_with_id(run, sid):
                        self.assertIn(st["status"], ("pending", "skipped"), sid)
                        self.assertIsNone(st.get("output"))

    def test_loop_until(self):
        s, t = self.server, self.target
        path = t.route(t.unique_path("loop"),
                       handler=lambda rec, n: (200, {"n": n, "done": n >= 3}))
        s.put_workflow({"id": "runs-loop-until", "steps": [
            {"id": "l", "type": "loop",
             "with": {"max_iterations": 10, "until": "${{ steps.c.output.body.done == true }}"},
             "steps": [http_step("c", t.url(path))]},
            noop("after", {"loop": "${{ steps.l.output }}", "went_on": True})]})
        run = s.run_and_wait("runs-loop-until")
        self.assertEqual(run["status"], "completed", run)
        self.assertEqual(run["output"], {"loop": {"iterations": 3, "exhausted": False},
                                         "went_on": True})
        self.assertEqual(t.hits(path), 3)
        self.assertEqual(find_step(run, "l")["output"], {"iterations": 3, "exhausted": False})
        for i in range(3):
            step = find_step(run, f"l[{i}].c")
            self.assertEqual(step["status"], "completed")
            self.assertEqual(step["output"]["body"], {"n": i + 1, "done": i + 1 >= 3})
        self.assertIsNone(find_step(run, "l[3].c", required=False))
        # Executed steps come in execution order.
        paths = [st["path"] for st in run["steps"]]
        self.assertEqual(paths.index("l[0].c") < paths.index("l[1].c") < paths.index("l[2].c"),
                         True, paths)

    def test_loop_until_true_at_first_iteration(self):
        s = self.server
        s.put_workflow({"id": "runs-loop-once", "steps": [
            {"id": "l", "type": "loop",
             "with": {"max_iterations": 5, "until": "${{ input.stop }}"},
             "steps": [noop("c", "once")]}]})
        run = s.run_and_wait("runs-loop-once", {"stop": True})
        self.assertEqual(run["status"], "completed", run)
        self.assertEqual(run["output"], {"iterations": 1, "exhausted": False})

    def test_loop_exhausted_goes_on(self):
        s = self.server
        s.put_workflow({"id": "runs-loop-exhaust", "steps": [
            {"id": "l", "type": "loop",
             "with": {"max_iterations": 3, "until": "${{ steps.c.output == 'never' }}"},
             "steps": [noop("c", "x"), noop("d", "${{ steps.c.output }}")]},
            noop("after", {"loop": "${{ steps.l.output }}", "went_on": True})]})
        run = s.run_and_wait("runs-loop-exhaust")
        self.assertEqual(run["status"], "completed", run)
        self.assertEqual(run["output"], {"loop": {"iterations": 3, "exhausted": True},
                                         "went_on": True})
        for i in range(3):
            self.assertEqual(find_step(run, f"l[{i}].c")["status"], "completed")
            self.assertEqual(find_step(run, f"l[{i}].d")["output"], "x")
        self.assertIsNone(find_step(run, "l[3].c", required=False))
        self.assertEqual(find_step(run, "after")["status"], "completed")

    # ---------------------------------------------------------------- trigger

    def test_trigger_body_is_input(self):
        s = self.server
        resp = s.api("POST", "/api/v1/workflows/runs-basic/trigger", {"x": 7, "extra": [1]})
        run = self.assertStatus(resp, 201)
        self.assertEqual(run["status"], "pending")
        self.assertEqual(run["input"], {"x": 7, "extra": [1]})
        self.assertEqual(run["workflow_id"], "runs-basic")
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["output"], {"last": True, "x": 7})
        resp = s.api("POST", "/api/v1/workflows/no-such-wf/trigger", {})
        self.assertError(resp, 404, "not_found")

    # --------------------------------------------------------------- long-poll

    def test_long_poll_answers_when_terminal(self):
        s = self.server
        run = s.start_run("runs-gate")
        s.wait_status(run["id"], "waiting")
        started = time.monotonic()
        poll = PendingRequest(s, "GET", f"/api/v1/runs/{run['id']}?wait_ms=20000", timeout=40)
        self.addCleanup(poll.close)
        poll.wait_read_by_server()
        sent = time.monotonic()
        self.assertStatus(s.send_event(run["id"], "go", {}), 202)
        # Held while the run waited: the answer is the run as it ended.
        body = self.assertStatus(poll.response(), 200)
        self.assertEqual(body["status"], "completed")
        self.assertEqual(body["output"], "done")
        self.assertLess(time.monotonic() - sent, scaled(5))
        self.assertLess(time.monotonic() - started, 19)

    def test_long_poll_times_out_with_current_state(self):
        s = self.server
        run = s.start_run("runs-gate")
        s.wait_status(run["id"], "waiting")
        started = time.monotonic()
        resp = s.api("GET", f"/api/v1/runs/{run['id']}?wait_ms=500")
        elapsed = time.monotonic() - started
        body = self.assertStatus(resp, 200)
        self.assertEqual(body["status"], "waiting")
        self.assertGreaterEqual(elapsed, 0.45)
        self.assertLess(elapsed, scaled(5))
        self.assertStatus(s.control(run["id"], "cancel"), 200)

    def test_long_poll_on_terminal_run_is_immediate(self):
        s = self.server
        run = s.run_and_wait("runs-basic", {"x": 1})
        started = time.monotonic()
        resp = s.api("GET", f"/api/v1/runs/{run['id']}?wait_ms=30000", timeout=40)
        self.assertEqual(self.assertStatus(resp, 200)["status"], "completed")
        self.assertLess(time.monotonic() - started, scaled(2))

    # ----------------------------------------------------------------- listing

    def test_list_filters(self):
        s = self.server
        s.put_workflow({"id": "runs-filter-a", "steps": [
            {"id": "e", "type": "wait_for_event", "with": {"event_type": "never"}}]})
        s.put_workflow({"id": "runs-filter-b", "steps": [noop("a", 1)]})
        w1 = s.start_run("runs-filter-a")["id"]
        w2 = s.start_run("runs-filter-a")["id"]
        c1 = s.start_run("runs-filter-a")["id"]
        b1 = s.start_run("runs-filter-b")["id"]
        s.wait_status(w1, "waiting")
        s.wait_status(w2, "waiting")
        s.wait_status(c1, "waiting")
        self.assertStatus(s.control(c1, "cancel"), 200)
        s.wait_status(b1, "completed")

        def ids(query):
            items = s.list_all(f"/api/v1/runs?{query}")
            got = [it["id"] for it in items]
            self.assertEqual(len(got), len(set(got)), f"duplicates for {query}")
            return set(got), items

        got, items = ids("workflow_id=runs-filter-a")
        self.assertEqual(got, {w1, w2, c1})
        for item in items:
            self.assertEqual(item["workflow_id"], "runs-filter-a")
            for omitted in ("steps", "input", "output"):
                self.assertNotIn(omitted, item)
            for key in ("id", "status", "version", "allowed_actions", "created_at"):
                self.assertIn(key, item)
        self.assertEqual(ids("workflow_id=runs-filter-a&status=waiting")[0], {w1, w2})
        self.assertEqual(ids("workflow_id=runs-filter-a&status=cancelled")[0], {c1})
        self.assertEqual(ids("workflow_id=runs-filter-a&status=waiting,cancelled")[0],
                         {w1, w2, c1})
        self.assertEqual(ids("workflow_id=runs-filter-a&wait_kind=event")[0], {w1, w2})
        self.assertEqual(ids("workflow_id=runs-filter-a&wait_kind=timer")[0], set())
        self.assertEqual(ids("workflow_id=runs-filter-b&status=completed")[0], {b1})
        self.assertEqual(ids("workflow_id=runs-filter-b&status=waiting")[0], set())
        got, _ = ids("status=waiting")
        self.assertTrue({w1, w2} <= got)
        self.assertNotIn(c1, got)
        self.assertNotIn(b1, got)
        self.assertEqual(ids(f"q={w2[-12:]}")[0], {w2})
        self.assertEqual(ids(f"q={w2[-12:]}&status=completed")[0], set())
        self.assertEqual(ids(f"q={b1[-12:]}&workflow_id=runs-filter-b")[0], {b1})
        self.assertEqual(ids("workflow_id=no-such-workflow")[0], set())
        for rid in (w1, w2):
            self.assertStatus(s.control(rid, "cancel"), 200)

    def test_pagination_newest_first(self):
        s = self.server
        s.put_workflow({"id": "runs-page", "steps": [noop("a", 1)]})
        started = []
        for _ in range(5):
            run = s.start_run("runs-page")
            started.append(run["id"])
            # Distinct creation milliseconds, so "newest first" has one right answer.
            next_ms = parse_time(run["created_at"]) + timedelta(milliseconds=1)
            wait_until(lambda: datetime.now(timezone.utc) >= next_ms, desc="the next millisecond")
        expected = list(reversed(started))

        seen, sizes = [], []
        url = "/api/v1/runs?workflow_id=runs-page&limit=2"
        extra = None
        for page_no in range(10):
            body = self.assertStatus(s.api("GET", url), 200)
            sizes.append(len(body["items"]))
            seen.extend(it["id"] for it in body["items"])
            if page_no == 0:
                # A run started while paging must not shift later pages.
                extra = s.start_run("runs-page")["id"]
            if body["next_cursor"] is None:
                break
            self.assertIsInstance(body["next_cursor"], str)
            url = ("/api/v1/runs?workflow_id=runs-page&limit=2&cursor="
                   + quote(body["next_cursor"], safe=""))
        self.assertEqual(sizes, [2, 2, 1])
        self.assertEqual(seen, expected)
        self.assertNotIn(extra, seen)
        first = self.assertStatus(s.api("GET", "/api/v1/runs?workflow_id=runs-page&limit=2"), 200)
        self.assertEqual([it["id"] for it in first["items"]], [extra, expected[0]])
        created = [it["created_at"] for it in s.list_all("/api/v1/runs?workflow_id=runs-page")]
        self.assertEqual(created, sorted(created, reverse=True))

    def test_workflow_scoped_get(self):
        s = self.server
        run = s.run_and_wait("runs-basic", {"x": 3})
        resp = s.api("GET", f"/api/v1/workflows/runs-basic/runs/{run['id']}")
        body = self.assertStatus(resp, 200)
        self.assertEqual(body["id"], run["id"])
        self.assertEqual(body["output"], run["output"])
        self.assertEqual(len(body["steps"]), 2)
        self.assertEqual(etag_version(resp), body["version"])
        self.assertError(s.api("GET", f"/api/v1/workflows/runs-gate/runs/{run['id']}"), 404,
                         "not_found")
        self.assertError(
            s.api("GET", "/api/v1/workflows/runs-basic/runs/run_00000000000000000000000000"),
            404, "not_found")

    # ------------------------------------------------------------------ replay

    def test_replay(self):
        s = self.server
        s.put_workflow({"id": "runs-replay", "steps": [noop("a", {"v": 1, "x": "${{ input.x }}"})]})
        first = s.run_and_wait("runs-replay", {"x": "in"})
        self.assertEqual(first["output"], {"v": 1, "x": "in"})
        s.put_workflow({"id": "runs-replay", "steps": [noop("a", {"v": 2, "x": "${{ input.x }}"})]})

        resp = s.api("POST", f"/api/v1/runs/{first['id']}/replay")
        replay = self.assertStatus(resp, 201)
        self.assertNotEqual(replay["id"], first["id"])
        self.assertEqual(replay["replay_of"], first["id"])
        self.assertEqual(replay["workflow_id"], "runs-replay")
        self.assertEqual(replay["workflow_version"], 1)
        self.assertEqual(replay["input"], {"x": "in"})
        self.assertEqual(replay["status"], "pending")
        done = s.wait_status(replay["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed")
        self.assertEqual(done["output"], {"v": 1, "x": "in"})
        # The original is untouched.
        again = s.get_run(first["id"])
        self.assertEqual(again["version"], first["version"])
        self.assertIsNone(again["replay_of"])

    def test_replay_of_failed_and_cancelled_runs(self):
        s = self.server
        s.put_workflow({"id": "runs-replay-fail", "steps": [
            {"id": "f", "type": "fail", "with": {"message": "no", "code": "nope"}}]})
        failed = s.run_and_wait("runs-replay-fail")
        self.assertEqual(failed["status"], "failed")
        replay = self.assertStatus(s.api("POST", f"/api/v1/runs/{failed['id']}/replay"), 201)
        self.assertEqual(replay["replay_of"], failed["id"])
        self.assertEqual(s.wait_status(replay["id"], *TERMINAL)["status"], "failed")

        run = s.start_run("runs-gate", {"k": 1})
        s.wait_status(run["id"], "waiting")
        self.assertStatus(s.control(run["id"], "cancel"), 200)
        replay = self.assertStatus(s.api("POST", f"/api/v1/runs/{run['id']}/replay"), 201)
        self.assertEqual(replay["replay_of"], run["id"])
        self.assertEqual(replay["input"], {"k": 1})
        s.wait_status(replay["id"], "waiting")
        self.assertStatus(s.control(replay["id"], "cancel"), 200)

    def test_replay_of_active_run_is_409(self):
        s = self.server
        run = s.start_run("runs-gate")
        waiting = s.wait_status(run["id"], "waiting")
        before = len(s.list_all("/api/v1/runs?workflow_id=runs-gate"))
        resp = s.api("POST", f"/api/v1/runs/{run['id']}/replay")
        self.assertError(resp, 409, "invalid_transition")
        self.assertEqual(len(s.list_all("/api/v1/runs?workflow_id=runs-gate")), before)
        self.assertEqual(s.get_run(run["id"])["version"], waiting["version"])
        self.assertError(s.api("POST", "/api/v1/runs/run_00000000000000000000000000/replay"),
                         404, "not_found")
        self.assertStatus(s.control(run["id"], "cancel"), 200)

    # ------------------------------------------------------------- idempotency

    def test_idempotency_key(self):
        s = self.server
        s.put_workflow({"id": "runs-idem", "steps": [noop("a", "${{ input.n }}")]})
        s.put_workflow({"id": "runs-idem-other", "steps": [noop("a", 1)]})
        key = {"Idempotency-Key": "e2e-key-1"}
        r1 = s.api("POST", "/api/v1/workflows/runs-idem/runs", {"input": {"n": 1}}, headers=key)
        first = self.assertStatus(r1, 201)
        self.assertNotEqual((r1.headers.get("Idempotent-Replayed") or "").lower(), "true")
        r2 = s.api("POST", "/api/v1/workflows/runs-idem/runs", {"input": {"n": 1}}, headers=key)
        second = self.assertStatus(r2, 201)
        self.assertEqual(second["id"], first["id"])
        self.assertEqual(r2.headers.get("Idempotent-Replayed"), "true")
        items = s.list_all("/api/v1/runs?workflow_id=runs-idem")
        self.assertEqual([it["id"] for it in items], [first["id"]])

        resp = s.api("POST", "/api/v1/workflows/runs-idem/runs", {"input": {"n": 2}},
                     headers=key)
        self.assertError(resp, 409, "idempotency_conflict")
        resp = s.api("POST", "/api/v1/workflows/runs-idem-other/runs", {"input": {"n": 1}},
                     headers=key)
        self.assertError(resp, 409, "idempotency_conflict")
        self.assertEqual(len(s.list_all("/api/v1/runs?workflow_id=runs-idem")), 1)
        self.assertEqual(len(s.list_all("/api/v1/runs?workflow_id=runs-idem-other")), 0)

        # Another key makes another run; the first run still completes once.
        other = s.api("POST", "/api/v1/workflows/runs-idem/runs", {"input": {"n": 1}},
                      headers={"Idempotency-Key": "e2e-key-2"})
        self.assertNotEqual(self.assertStatus(other, 201)["id"], first["id"])
        self.assertEqual(s.wait_status(first["id"], *TERMINAL)["output"], 1)

    def test_idempotency_key_on_trigger(self):
        s = self.server
        s.put_workflow({"id": "runs-idem-trig", "steps": [noop("a", "${{ input.n }}")]})
        key = {"Idempotency-Key": "e2e-trigger-key"}
        r1 = s.api("POST", "/api/v1/workflows/runs-idem-trig/trigger", {"n": 5}, headers=key)
        r2 = s.api("POST", "/api/v1/workflows/runs-idem-trig/trigger", {"n": 5}, headers=key)
        self.assertEqual(self.assertStatus(r1, 201)["id"], self.assertStatus(r2, 201)["id"])
        self.assertEqual(r2.headers.get("Idempotent-Replayed"), "true")
        r3 = s.api("POST", "/api/v1/workflows/runs-idem-trig/trigger", {"n": 6}, headers=key)
        self.assertError(r3, 409, "idempotency_conflict")
        self.assertEqual(len(s.list_all("/api/v1/runs?workflow_id=runs-idem-trig")), 1)

    # --------------------------------------------------------------------- SSE

    def test_sse_stream_until_terminal(self):
        s = self.server
        run = s.start_run("runs-gate")
        s.wait_status(run["id"], "waiting")
        stream = SSEStream(s, f"/api/v1/runs/{run['id']}/events/stream")
        self.addCleanup(stream.close)
        self.assertEqual(stream.status, 200)
        self.assertTrue(stream.headers.get("Content-Type", "").startswith("text/event-stream"))
        first = stream.next_event()
        self.assertIsNotNone(first, "the stream sent nothing")
        self.assertEqual(first["event"], "run")
        self.assertEqual(first["data"]["id"], run["id"])
        self.assertEqual(first["data"]["status"], "waiting")
        self.assertIn("steps", first["data"])

        self.assertStatus(s.send_event(run["id"], "go", {"p": 1}), 202)
        events = [first]
        for _ in range(100):
            ev = stream.next_event()
            if ev is None:
                break
            events.append(ev)
        else:
            self.fail("the stream did not end")
        self.assertTrue(stream.eof)
        self.assertEqual({ev["event"] for ev in events}, {"run"})
        self.assertEqual(events[-1]["data"]["status"], "completed")
        self.assertEqual(events[-1]["data"]["output"], "done")
        self.assertEqual([ev["data"]["status"] for ev in events[:-1]
                          if ev["data"]["status"] in TERMINAL], [])
        versions = [ev["data"]["version"] for ev in events]
        self.assertEqual(versions, sorted(versions))

    def test_sse_stream_of_finished_run(self):
        s = self.server
        run = s.run_and_wait("runs-basic", {"x": 9})
        stream = SSEStream(s, f"/api/v1/runs/{run['id']}/events/stream")
        self.addCleanup(stream.close)
        self.assertEqual(stream.status, 200)
        ev = stream.next_event()
        self.assertEqual(ev["event"], "run")
        self.assertEqual(ev["data"]["status"], "completed")
        self.assertEqual(ev["data"]["output"], {"last": True, "x": 9})
        self.assertIsNone(stream.next_event())

    def test_sse_stream_unknown_run(self):
        s = self.server
        stream = SSEStream(s, "/api/v1/runs/run_00000000000000000000000000/events/stream")
        self.addCleanup(stream.close)
        self.assertEqual(stream.status, 404)


if __name__ == "__main__":
    unittest.main()
