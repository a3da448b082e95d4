"""Schedules (API.md "Schedules", docs/schedules.md) on --fake-clock, so ticks come due
only when the test moves the clock.

- create (defaults, next_fire_times in the zone), list with a cursor and by workflow,
  get, put (with If-Match), delete, pause and resume; viewers read, only admins write;
- Idempotency-Key on create: a repeat answers the first schedule, another body is 409;
- a tick starts exactly one run, with the trigger {"kind": "schedule", "schedule_id",
  "scheduled_at"};
- overlap skip / allow / cancel_previous;
- catch_up none / latest / all for ticks missed while the server was down (restarted,
  then its clock moved past several ticks);
- ticks that pass while a schedule is paused never fire;
- bad input is 400 naming the field, and changes nothing.

The scheduler consumes a due schedule's ticks in one compare-and-set that bumps the
schedule's `version` (docs/schedules.md); "nothing fired" is checked after the version
moved, not after an observation window.
"""

import unittest
from datetime import timedelta

from harness import E2ETestCase, parse_time, wait_until

HOUR_MS = 3600_000
MINUTE_MS = 60_000


def waiter(wf_id):
    """A workflow whose runs stay waiting (until an event nobody sends)."""
    return {"id": wf_id, "steps": [{"id": "hold", "type": "wait_for_event",
                                    "with": {"event_type": "never"}}]}


def quick(wf_id):
    return {"id": wf_id, "steps": [{"id": "echo", "type": "noop",
                                    "with": {"value": "${{ input.n }}"}}]}


class SchedulesTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server(fake_clock=True)
        cls.viewer = cls.server.create_token("viewer", "sched-viewer")["token"]
        cls.operator = cls.server.create_token("operator", "sched-operator")["token"]

    # Helpers.

    def create(self, body, status=201):
        resp = self.server.request("POST", "/api/v1/schedules", body)
        return self.assertStatus(resp, status)

    def get(self, sch_id):
        return self.assertStatus(self.server.request("GET", f"/api/v1/schedules/{sch_id}"), 200)

    def runs_of(self, wf_id):
        return self.server.list_all(f"/api/v1/runs?workflow_id={wf_id}")

    def now(self):
        return parse_time(self.server.advance_clock(0)["now"])

    def advance_to(self, when):
        """Moves the fake clock to `when` (not back)."""
        ms = int((when - self.now()).total_seconds() * 1000)
        self.assertGreaterEqual(ms, 0)
        return self.server.advance_clock(ms)

    def next_boundary(self, minutes):
        """The first whole `minutes` boundary (UTC) after now."""
        now = self.now().replace(second=0, microsecond=0) + timedelta(minutes=1)
        while (now.hour * 60 + now.minute) % minutes:
            now += timedelta(minutes=1)
        return now

    def wait_consumed(self, sch_id, version):
        """Waits until the scheduler consumed ticks of the schedule (its version moved
        past `version`); returns the schedule."""
        return wait_until(lambda: (lambda s: s if s["version"] > version else None)(
            self.get(sch_id)), desc=f"schedule {sch_id} past version {version}")

    # CRUD.

    def test_create_applies_defaults_and_shows_five_next_fire_times_in_the_zone(self):
        s = self.server
        s.put_workflow(quick("sch-crud"))
        created = self.create({"workflow_id": "sch-crud", "cron": "30 9 * * *",
                               "timezone": "America/New_York", "input": {"n": 1}})
        self.assertRegex(created["id"], r"^sch_")
        self.assertEqual(created["workflow_id"], "sch-crud")
        self.assertEqual(created["cron"], "30 9 * * *")
        self.assertEqual(created["timezone"], "America/New_York")
        self.assertEqual(created["input"], {"n": 1})
        self.assertEqual(created["overlap"], "skip")
        self.assertEqual(created["catch_up"], "latest")
        self.assertEqual(created["max_catch_up"], 100)
        self.assertFalse(created["paused"])
        self.assertIsNone(created["last_fired_at"])
        fires = [parse_time(t) for t in created["next_fire_times"]]
        self.assertEqual(len(fires), 5)
        now = self.now()
        self.assertGreater(fires[0], now - timedelta(seconds=1))
        self.assertLessEqual(fires[0], now + timedelta(days=1))
        for a, b in zip(fires, fires[1:]):
            # A day apart, or 23/25 h across a DST change.
            self.assertIn(b - a, (timedelta(hours=23), timedelta(hours=24), timedelta(hours=25)))
        for f in fires:
            self.assertEqual(f.minute, 30)
            self.assertIn(f.hour, (13, 14))  # 09:30 EDT or EST

        # UTC by default.
        utc = self.create({"workflow_id": "sch-crud", "cron": "0 0 1 1 *"})
        self.assertEqual(utc["timezone"], "UTC")
        self.assertEqual(parse_time(utc["next_fire_times"][0]).strftime("%m-%d %H:%M"),
                         "01-01 00:00")

        got = self.assertStatus(s.request("GET", f"/api/v1/schedules/{created['id']}",
                                          token=self.viewer), 200)
        self.assertEqual(got["id"], created["id"])
        self.assertEqual(got["next_fire_times"], created["next_fire_times"])

        page1 = self.assertStatus(s.request("GET", "/api/v1/schedules?limit=1",
                                            token=self.viewer), 200)
        self.assertEqual([i["id"] for i in page1["items"]], [utc["id"]])
        self.assertEqual(page1["next_cursor"], utc["id"])
        page2 = self.assertStatus(s.request(
            "GET", f"/api/v1/schedules?limit=1&cursor={page1['next_cursor']}"), 200)
        self.assertEqual([i["id"] for i in page2["items"]], [created["id"]])

        put = self.assertStatus(s.request("PUT", f"/api/v1/schedules/{created['id']}",
                                          {"cron": "*/15 * * * *", "overlap": "allow"}), 200)
        self.assertEqual(put["cron"], "*/15 * * * *")
        self.assertEqual(put["overlap"], "allow")
        self.assertEqual(put["timezone"], "America/New_York")  # kept
        fires = [parse_time(t) for t in put["next_fire_times"]]
        self.assertEqual([f.minute % 15 for f in fires], [0] * 5)
        self.assertEqual(fires[1] - fires[0], timedelta(minutes=15))

        paused = self.assertStatus(s.request("POST", f"/api/v1/schedules/{created['id']}/pause"),
                                   200)
        self.assertTrue(paused["paused"])
        self.assertEqual(paused["next_fire_times"], [])
        again = self.assertStatus(s.request("POST", f"/api/v1/schedules/{created['id']}/pause"),
                                  200)
        self.assertEqual(again["version"], paused["version"])
        resumed = self.assertStatus(
            s.request("POST", f"/api/v1/schedules/{created['id']}/resume"), 200)
        self.assertFalse(resumed["paused"])
        self.assertEqual(len(resumed["next_fire_times"]), 5)

        for token in (self.viewer, self.operator):
            self.assertError(s.request("POST", "/api/v1/schedules",
                                       {"workflow_id": "sch-crud", "cron": "* * * * *"},
                                       token=token), 403)
            self.assertError(s.request("DELETE", f"/api/v1/schedules/{created['id']}",
                                       token=token), 403)
            self.assertError(s.request("POST", f"/api/v1/schedules/{created['id']}/pause",
                                       token=token), 403)

        resp = s.request("DELETE", f"/api/v1/schedules/{created['id']}")
        self.assertEqual(resp.status, 204, repr(resp))
        self.assertError(s.request("GET", f"/api/v1/schedules/{created['id']}"), 404,
                         "not_found")
        self.assertError(s.request("DELETE", f"/api/v1/schedules/{created['id']}"), 404)

        # Another workspace sees none of this workspace's schedules.
        other = s.create_workspace("sched-other")
        self.assertError(s.request("GET", f"/api/v1/schedules/{utc['id']}", token=other), 404)
        listed = self.assertStatus(s.request("GET", "/api/v1/schedules", token=other), 200)
        self.assertEqual(listed["items"], [])

    def test_bad_input_is_400_naming_the_field_and_creates_nothing(self):
        s = self.server
        s.put_workflow(quick("sch-bad"))
        before = len(s.list_all("/api/v1/schedules"))
        good = {"workflow_id": "sch-bad", "cron": "* * * * *"}
        cases = [
            ({**good, "color": "red"}, "color"),
            ({**good, "cron": "* * * *"}, "cron"),
            ({**good, "cron": "61 * * * *"}, "cron"),
            ({**good, "cron": "0 0 30 2 *"}, "cron"),
            ({**good, "cron": 5}, "cron"),
            ({**good, "timezone": "Mars/Olympus_Mons"}, "timezone"),
            ({**good, "overlap": "queue"}, "overlap"),
            ({**good, "catch_up": "some"}, "catch_up"),
            ({**good, "max_catch_up": 0}, "max_catch_up"),
            ({**good, "input": [1, 2]}, "input"),
            ({"cron": "* * * * *"}, "workflow_id"),
            ({"workflow_id": "sch-bad"}, "cron"),
            ({**good, "workflow_id": "no-such-workflow"}, "workflow_id"),
        ]
        for body, field in cases:
            with self.subTest(body=body):
                err = self.assertError(s.request("POST", "/api/v1/schedules", body), 400,
                                       "invalid_request")
                self.assertEqual(err.get("field"), field, repr(err))
        self.assertError(s.request("POST", "/api/v1/schedules", raw_body=b"[1]",
                                   headers={"Content-Type": "application/json"}), 400)
        self.assertEqual(len(s.list_all("/api/v1/schedules")), before)

        created = self.create(good)
        err = self.assertError(s.request("PUT", f"/api/v1/schedules/{created['id']}",
                                         {"timezone": "Nowhere/Else"}), 400)
        self.assertEqual(err.get("field"), "timezone")
        self.assertEqual(self.get(created["id"])["timezone"], "UTC")
        self.assertError(s.request("PUT", "/api/v1/schedules/sch_nope", {"cron": "* * * * *"}),
                         404)

    def test_list_filters_by_workflow_id(self):
        s = self.server
        s.put_workflow(quick("sch-by-a"))
        s.put_workflow(quick("sch-by-b"))
        a1 = self.create({"workflow_id": "sch-by-a", "cron": "0 1 * * *"})
        b1 = self.create({"workflow_id": "sch-by-b", "cron": "0 2 * * *"})
        a2 = self.create({"workflow_id": "sch-by-a", "cron": "0 3 * * *"})
        listed = s.list_all("/api/v1/schedules?workflow_id=sch-by-a", token=self.viewer)
        self.assertEqual([x["id"] for x in listed], [a2["id"], a1["id"]])
        self.assertEqual({x["workflow_id"] for x in listed}, {"sch-by-a"})
        self.assertEqual([x["id"] for x in s.list_all("/api/v1/schedules?workflow_id=sch-by-b")],
                         [b1["id"]])
        # Paged: one a page, the cursor keeping to the workflow.
        page = self.assertStatus(s.request(
            "GET", "/api/v1/schedules?workflow_id=sch-by-a&limit=1"), 200)
        self.assertEqual([x["id"] for x in page["items"]], [a2["id"]])
        self.assertEqual(page["next_cursor"], a2["id"])
        page = self.assertStatus(s.request(
            "GET", f"/api/v1/schedules?workflow_id=sch-by-a&limit=1&cursor={a2['id']}"), 200)
        self.assertEqual([x["id"] for x in page["items"]], [a1["id"]])
        self.assertIsNone(page["next_cursor"])
        # A workflow without schedules, or unknown, lists none; empty is every workflow.
        self.assertEqual(self.assertStatus(
            s.request("GET", "/api/v1/schedules?workflow_id=no-such-wf"), 200)["items"], [])
        everything = {x["id"] for x in s.list_all("/api/v1/schedules?workflow_id=")}
        self.assertTrue({a1["id"], a2["id"], b1["id"]} <= everything)
        # Another workspace's list of the same workflow id is its own.
        other = s.create_workspace("sched-by-other")
        self.assertEqual(self.assertStatus(s.request(
            "GET", "/api/v1/schedules?workflow_id=sch-by-a", token=other), 200)["items"], [])
        for query, field in [("workflow_id=Not%20A%20Slug", "workflow_id"),
                             ("workflow_id=" + "a" * 64, "workflow_id"),
                             ("workflow=sch-by-a", "workflow"),
                             ("limit=0", "limit"),
                             ("cursor=run_01", "cursor")]:
            with self.subTest(query=query):
                err = self.assertError(s.request("GET", "/api/v1/schedules?" + query), 400,
                                       "invalid_request")
                self.assertEqual(err.get("field"), field, repr(err))

    def test_idempotency_key_answers_the_first_schedule(self):
        s = self.server
        s.put_workflow(quick("sch-idem"))
        body = {"workflow_id": "sch-idem", "cron": "15 4 * * *", "input": {"n": 1}}
        key = {"Idempotency-Key": "sch-idem-key-1"}
        first = s.request("POST", "/api/v1/schedules", body, headers=key)
        created = self.assertStatus(first, 201)
        self.assertIsNone(first.headers.get("Idempotent-Replayed"))
        self.assertEqual(first.headers.get("Location"), f"/api/v1/schedules/{created['id']}")
        # The same request again (keys in another order are the same body): the first
        # schedule, no second one.
        again = s.request("POST", "/api/v1/schedules",
                          {"input": {"n": 1}, "cron": "15 4 * * *", "workflow_id": "sch-idem"},
                          headers=key)
        self.assertEqual(self.assertStatus(again, 201)["id"], created["id"])
        self.assertEqual(again.headers.get("Idempotent-Replayed"), "true")
        self.assertEqual(len(s.list_all("/api/v1/schedules?workflow_id=sch-idem")), 1)
        # Another body under the key: 409, nothing made.
        for other in ({**body, "cron": "16 4 * * *"}, {**body, "input": {"n": 2}}):
            with self.subTest(body=other):
                self.assertError(s.request("POST", "/api/v1/schedules", other, headers=key),
                                 409, "idempotency_conflict")
        # The workspace's keys are one set: a run's start under it is another request.
        self.assertError(s.request("POST", "/api/v1/workflows/sch-idem/runs", {"input": {}},
                                   headers=key), 409, "idempotency_conflict")
        self.assertEqual(len(s.list_all("/api/v1/schedules?workflow_id=sch-idem")), 1)
        # A key too long is refused before anything is made.
        self.assertError(s.request("POST", "/api/v1/schedules", {**body, "cron": "17 4 * * *"},
                                   headers={"Idempotency-Key": "k" * 256}), 400,
                         "invalid_request")
        # Without a key every request makes a schedule.
        self.create(body)
        self.assertEqual(len(s.list_all("/api/v1/schedules?workflow_id=sch-idem")), 2)
        # The first schedule deleted, its key answers 404, not a new schedule.
        self.assertEqual(s.request("DELETE", f"/api/v1/schedules/{created['id']}").status, 204)
        self.assertError(s.request("POST", "/api/v1/schedules", body, headers=key), 404,
                         "not_found")
        self.assertEqual(len(s.list_all("/api/v1/schedules?workflow_id=sch-idem")), 1)

    def test_put_with_if_match_replaces_only_the_version_it_names(self):
        s = self.server
        s.put_workflow(quick("sch-ifm"))
        created = self.create({"workflow_id": "sch-ifm", "cron": "0 5 * * *"})
        path = f"/api/v1/schedules/{created['id']}"
        put = self.assertStatus(s.request("PUT", path, {"cron": "0 6 * * *"},
                                          headers={"If-Match": f'"{created["version"]}"'}), 200)
        self.assertEqual(put["cron"], "0 6 * * *")
        self.assertGreater(put["version"], created["version"])
        # The version it named is gone: 409 with the version it is at; nothing changes.
        err = self.assertError(s.request("PUT", path, {"cron": "0 7 * * *"},
                                         headers={"If-Match": f'"{created["version"]}"'}),
                               409, "state_changed")
        self.assertEqual(err["version"], put["version"])
        self.assertEqual(self.get(created["id"])["cron"], "0 6 * * *")
        self.assertEqual(self.get(created["id"])["version"], put["version"])
        err = self.assertError(s.request("PUT", path, {"cron": "0 7 * * *"},
                                         headers={"If-Match": "yesterday"}), 400,
                               "invalid_request")
        self.assertIn("If-Match", err["message"])
        self.assertEqual(self.get(created["id"])["cron"], "0 6 * * *")
        # Without If-Match, as before: the schedule as it is now is replaced.
        self.assertEqual(self.assertStatus(s.request("PUT", path, {"cron": "0 8 * * *"}),
                                           200)["cron"], "0 8 * * *")

    # Firing.

    def test_a_tick_starts_exactly_one_run_with_the_schedule_trigger(self):
        s = self.server
        s.put_workflow(quick("sch-fire"))
        tick = self.next_boundary(5)
        created = self.create({"workflow_id": "sch-fire", "cron": "*/5 * * * *",
                               "input": {"n": 7}})
        self.assertEqual(parse_time(created["next_fire_times"][0]), tick)
        self.advance_to(tick + timedelta(seconds=10))
        sch = self.wait_consumed(created["id"], created["version"])
        runs = wait_until(lambda: self.runs_of("sch-fire"), desc="a scheduled run")
        # Further looks (the scheduler's next second, a poke) start no second run.
        s.advance_clock(1000)
        self.wait_consumed(created["id"], created["version"])
        self.assertEqual(len(self.runs_of("sch-fire")), 1)
        run = s.wait_status(runs[0]["id"], "completed")
        self.assertEqual(run["trigger"], {"kind": "schedule", "schedule_id": created["id"],
                                          "scheduled_at": tick.strftime(
                                              "%Y-%m-%dT%H:%M:%S.000Z")})
        self.assertEqual(run["input"], {"n": 7})
        self.assertEqual(run["output"], 7)
        sch = self.get(created["id"])
        self.assertEqual(parse_time(sch["last_fired_at"]), tick)
        self.assertEqual(sch["last_run_id"], run["id"])
        self.assertEqual(parse_time(sch["next_fire_times"][0]), tick + timedelta(minutes=5))

    def overlap_case(self, wf_id, overlap):
        s = self.server
        s.put_workflow(waiter(wf_id))
        tick = self.next_boundary(1)
        created = self.create({"workflow_id": wf_id, "cron": "* * * * *", "overlap": overlap})
        self.advance_to(tick + timedelta(seconds=5))
        first = wait_until(lambda: self.runs_of(wf_id), desc="the first run")[0]
        s.wait_status(first["id"], "waiting")
        version = self.get(created["id"])["version"]
        self.advance_to(tick + timedelta(minutes=1, seconds=5))
        self.wait_consumed(created["id"], version)
        return first, tick

    def test_overlap_skip_fires_nothing_while_the_previous_run_is_active(self):
        first, tick = self.overlap_case("sch-skip", "skip")
        runs = self.runs_of("sch-skip")
        self.assertEqual([r["id"] for r in runs], [first["id"]])
        self.assertEqual(self.server.get_run(first["id"])["status"], "waiting")
        # Once it ended, the next tick fires again.
        self.server.control(first["id"], "cancel")
        sch = self.server.list_all("/api/v1/schedules")
        sch = next(x for x in sch if x["workflow_id"] == "sch-skip")
        self.advance_to(tick + timedelta(minutes=2, seconds=5))
        self.wait_consumed(sch["id"], sch["version"])
        runs = wait_until(lambda: (lambda r: r if len(r) == 2 else None)(
            self.runs_of("sch-skip")), desc="a second run")
        self.assertEqual(runs[0]["trigger"]["scheduled_at"],
                         (tick + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z"))

    def test_overlap_allow_fires_beside_the_active_run(self):
        first, _ = self.overlap_case("sch-allow", "allow")
        runs = wait_until(lambda: (lambda r: r if len(r) == 2 else None)(
            self.runs_of("sch-allow")), desc="a second run")
        self.assertEqual(self.server.get_run(first["id"])["status"], "waiting")
        self.assertNotEqual(runs[0]["id"], first["id"])

    def test_overlap_cancel_previous_cancels_it_with_a_reason_and_starts_the_next(self):
        first, _ = self.overlap_case("sch-cancel", "cancel_previous")
        cancelled = self.server.wait_status(first["id"], "cancelled")
        self.assertIn("cancel_previous", cancelled["cancel"]["reason"])
        runs = self.runs_of("sch-cancel")
        self.assertEqual(len(runs), 2)
        newer = next(r for r in runs if r["id"] != first["id"])
        self.server.wait_status(newer["id"], "waiting")

    def test_ticks_passed_while_paused_never_fire(self):
        s = self.server
        s.put_workflow(quick("sch-paused"))
        created = self.create({"workflow_id": "sch-paused", "cron": "*/10 * * * *",
                               "catch_up": "all"})
        paused = self.assertStatus(
            s.request("POST", f"/api/v1/schedules/{created['id']}/pause"), 200)
        s.advance_clock(3 * HOUR_MS)
        resumed = self.assertStatus(
            s.request("POST", f"/api/v1/schedules/{created['id']}/resume"), 200)
        self.assertGreater(resumed["version"], paused["version"])
        tick = parse_time(resumed["next_fire_times"][0])
        self.assertGreater(tick, self.now())
        self.advance_to(tick + timedelta(seconds=5))
        runs = wait_until(lambda: self.runs_of("sch-paused"), desc="a run after resume")
        self.wait_consumed(created["id"], resumed["version"])
        runs = self.runs_of("sch-paused")
        self.assertEqual([r["trigger"]["scheduled_at"] for r in runs],
                         [tick.strftime("%Y-%m-%dT%H:%M:%S.000Z")])

    def test_a_workflow_held_for_safety_holds_its_schedules(self):
        s = self.server
        s.put_workflow({**quick("sch-held"), "limits": {"max_runs_per_minute": 2}})
        for _ in range(2):
            s.run_and_wait("sch-held", {"n": 0})
        held_run = s.start_run("sch-held", {"n": 0})
        wait_until(lambda: s.request("GET", "/api/v1/workflows/sch-held").json["status"]
                   == "paused_safety", desc="sch-held paused_safety")
        tick = self.next_boundary(1)
        created = self.create({"workflow_id": "sch-held", "cron": "* * * * *",
                               "overlap": "allow", "catch_up": "latest"})
        self.advance_to(tick + timedelta(seconds=5))
        self.wait_consumed(created["id"], created["version"])
        scheduled = [r for r in self.runs_of("sch-held") if r["trigger"]["kind"] == "schedule"]
        self.assertEqual(scheduled, [])
        # Released: the held tick does not fire late; the next one fires.
        self.assertStatus(s.request("POST", "/api/v1/workflows/sch-held/resume"), 200)
        s.wait_status(held_run["id"], "completed")
        self.advance_to(tick + timedelta(minutes=2, seconds=5))
        runs = wait_until(lambda: [r for r in self.runs_of("sch-held")
                                   if r["trigger"]["kind"] == "schedule"],
                          desc="a scheduled run after the hold")
        self.assertEqual([r["trigger"]["scheduled_at"] for r in runs],
                         [(tick + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")])


class ScheduleCatchUpTest(E2ETestCase):
    """Ticks missed while the server was down: it is stopped, started again, and its
    clock moved past three hourly ticks (the latest 30 minutes ago)."""

    def test_catch_up_none_latest_and_all_after_a_restart(self):
        s = self.start_test_server(fake_clock=True)
        ids = {}
        for mode in ("none", "latest", "all"):
            s.put_workflow(quick(f"sch-cu-{mode}"))
            ids[mode] = self.assertStatus(s.request("POST", "/api/v1/schedules", {
                "workflow_id": f"sch-cu-{mode}", "cron": "0 * * * *", "catch_up": mode,
                "overlap": "allow", "input": {"n": mode}}), 201)
        capped = "sch-cu-capped"
        s.put_workflow(quick(capped))
        ids["capped"] = self.assertStatus(s.request("POST", "/api/v1/schedules", {
            "workflow_id": capped, "cron": "0 * * * *", "catch_up": "all",
            "max_catch_up": 2, "overlap": "allow"}), 201)
        s.restart()
        now = parse_time(s.advance_clock(0)["now"])
        first = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        target = first + timedelta(hours=2, minutes=30)
        s.advance_clock(int((target - now).total_seconds() * 1000))
        ticks = [(first + timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
                 for h in range(3)]

        def consumed(mode):
            sch = self.assertStatus(s.request("GET", f"/api/v1/schedules/{ids[mode]['id']}"), 200)
            return sch["version"] > ids[mode]["version"]

        for mode in ids:
            wait_until(lambda: consumed(mode), desc=f"catch-up {mode} consumed")

        def fired(wf_id):
            return sorted(r["trigger"]["scheduled_at"]
                          for r in s.list_all(f"/api/v1/runs?workflow_id={wf_id}"))

        self.assertEqual(fired("sch-cu-none"), [])
        self.assertEqual(fired("sch-cu-latest"), ticks[2:])
        self.assertEqual(fired("sch-cu-all"), ticks)
        self.assertEqual(fired(capped), ticks[1:])
        # A restart after the catch-up fires nothing again.
        s.restart()
        s.advance_clock(1000)
        for mode in ("latest", "all"):
            sch = self.assertStatus(s.request("GET", f"/api/v1/schedules/{ids[mode]['id']}"), 200)
            self.assertEqual(parse_time(sch["last_fired_at"]).strftime(
                "%Y-%m-%dT%H:%M:%S.000Z"), ticks[2])
        self.assertEqual(fired("sch-cu-all"), ticks)


if __name__ == "__main__":
    unittest.main()
