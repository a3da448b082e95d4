"""Connections in `http` steps and reauth holds (API.md "Connections and reauthorization",
helpers/reauth-spec.md "The http step") against the real binary and the fake OAuth
provider: the bearer header, refresh when the token is missing, expiring within 60 s or
answered 401, rotated refresh tokens, one refresh for many runs, transient failures
retried on the fake clock while nothing is held, permanent failures holding runs before
the call (`paused`/`reauth`, or `waiting`/`reauth` for `mode: agent`), Resume and
reconnect, 200 runs released by one reconnect, pause and cancel racing a hold, and a
kill -9 while runs are held."""

import threading
import time
import unittest
from datetime import timedelta

from harness import (E2ETestCase, TERMINAL, find_step, format_time, http_step, noop,
                     parse_time, scaled, wait_until)
from oauth_helpers import (NEEDS_REAUTH, connection_workflow, new_client_secret, oauth2,
                           unique)

REVOKED = "invalid_grant: Token has been revoked"


def together(*fns):
    """Runs `fns` at once, each on its own thread, and waits for all."""
    threads = [threading.Thread(target=fn) for fn in fns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


class HoldsBase(E2ETestCase):
    """One provider and one server (fake clock) per class; the provider is reset before
    every test, so its counters are the test's own."""

    @classmethod
    def setUpClass(cls):
        cls.provider = cls.start_oauth_provider(client_secret=new_client_secret())
        cls.server = cls.start_server(fake_clock=True, allow_private_targets=True)

    def setUp(self):
        self.provider.reset()

    def connection(self, app="slack", **fields):
        return self.server.create_connection(unique("conn"), oauth2(self.provider, **fields),
                                             app=app)

    def workflow(self, conn, mode=None, url=None, timeout=None):
        wf = unique("wf-conn")
        self.server.put_workflow(connection_workflow(
            wf, conn["name"], url or self.provider.api_url(wf), mode=mode, timeout=timeout))
        return wf

    def connection_api(self, conn_id, action=None, body=None):
        path = f"/api/v1/connections/{conn_id}" + (f"/{action}" if action else "")
        if action is None:
            return self.server.api("GET", path).json
        return self.server.api("POST", path, body if body is not None else {})

    def kill_refresh(self, conn):
        """Puts the connection in `error` through the refresh endpoint."""
        self.provider.set_mode(token="invalid_grant", times=1)
        self.assertError(self.connection_api(conn["id"], "refresh"), 409,
                         "connection_needs_reauth", NEEDS_REAUTH)

    def reconnect(self, conn, **fields):
        body = {"refresh_token": self.provider.seed()["refresh_token"], **fields}
        after = self.assertStatus(self.connection_api(conn["id"], "reconnect",
                                                      {"oauth2": body}), 200)
        self.assertEqual((after["status"], after["error"]), ("active", None))
        return after

    def held_paused(self, run_id, conn):
        run = self.server.wait_status(run_id, "paused")
        pause = run["pause"]
        self.assertEqual({k: pause.get(k) for k in ("reason", "connection_id", "by")},
                         {"reason": "reauth", "connection_id": conn["id"], "by": "system"},
                         run)
        parse_time(pause["at"])
        self.assertEqual(run["allowed_actions"], ["resume", "cancel"])
        return run

    def held_waiting(self, run_id, conn):
        run = self.server.wait_for(run_id, lambda r: (r["wait"] or {}).get("kind") == "reauth",
                                   desc="a reauth wait")
        self.assertEqual(run["status"], "waiting")
        self.assertEqual(run["wait"], {"kind": "reauth", "connection_id": conn["id"],
                                       "step_id": "call", "until": None})
        self.assertEqual(run["allowed_actions"], ["cancel"])
        return run

    def assertNoAttempt(self, run):
        step = find_step(run, "call")
        self.assertEqual(step["status"], "pending", step)
        self.assertFalse(step.get("attempts"), step)
        self.assertFalse(step.get("attempt"), step)

    def assertCompletedWithApi(self, run_id):
        run = self.server.wait_status(run_id, *TERMINAL)
        self.assertEqual(run["status"], "completed", run)
        self.assertEqual(find_step(run, "call")["output"]["status"], 200, run)
        self.assertEqual(run["output"]["ok"], True, run)
        return run

    def stat(self, name):
        return self.provider.stats()[name]

    def run_ids(self, query):
        return {r["id"] for r in self.server.list_all(f"/api/v1/runs?{query}")}


class RefreshInStepsTest(HoldsBase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.target = cls.start_target()

    def test_the_bearer_token_reaches_the_api(self):
        s, p, t = self.server, self.provider, self.target
        seeded = p.seed()
        expires = format_time(s.fake_now() + timedelta(hours=1))
        conn = self.connection(refresh_token=seeded["refresh_token"],
                               access_token=seeded["access_token"], expires_at=expires)
        path = t.route(t.unique_path("bearer"), body={"ok": True})
        run = s.run_and_wait(self.workflow(conn, url=t.url(path)))
        self.assertEqual(run["status"], "completed", run)
        self.assertEqual(t.requests(path)[0]["headers"]["authorization"],
                         f"Bearer {seeded['access_token']}")
        done = self.assertCompletedWithApi(s.start_run(self.workflow(conn))["id"])
        self.assertEqual(find_step(done, "call")["output"]["body"]["method"], "GET")
        self.assertEqual((self.stat("token_requests"), self.stat("api_calls")), (0, 1))

    def test_refresh_when_there_is_no_access_token(self):
        s = self.server
        conn = self.connection()
        wf = self.workflow(conn)
        now = s.fake_now()
        self.assertCompletedWithApi(s.start_run(wf)["id"])
        stats = self.provider.stats()
        self.assertEqual((stats["refresh_grants"], stats["api_calls"],
                          stats["api_unauthorized"]), (1, 1, 0))
        self.assertEqual(stats["last_token_request"]["grant_type"], "refresh_token")
        expires = parse_time(self.connection_api(conn["id"])["expires_at"])
        self.assertLess(abs((expires - now).total_seconds() - 3600), 60)
        self.assertCompletedWithApi(s.start_run(wf)["id"])  # the new token is kept
        self.assertEqual((self.stat("refresh_grants"), self.stat("api_calls")), (1, 2))

    def test_refresh_when_the_token_expires_within_60_s(self):
        s, p = self.server, self.provider
        now = s.fake_now()
        soon, later = p.seed(), p.seed()
        expiring = self.connection(refresh_token=soon["refresh_token"],
                                   access_token=soon["access_token"],
                                   expires_at=format_time(now + timedelta(seconds=30)))
        fine = self.connection(refresh_token=later["refresh_token"],
                               access_token=later["access_token"],
                               expires_at=format_time(now + timedelta(seconds=120)))
        self.assertCompletedWithApi(s.start_run(self.workflow(expiring))["id"])
        self.assertEqual(self.stat("refresh_grants"), 1)
        fine_wf = self.workflow(fine)
        self.assertCompletedWithApi(s.start_run(fine_wf)["id"])
        self.assertEqual(self.stat("refresh_grants"), 1)
        s.advance_clock(61 * 1000)  # now fine's token expires within 60 s
        self.assertCompletedWithApi(s.start_run(fine_wf)["id"])
        self.assertEqual(self.stat("refresh_grants"), 2)

    def test_refresh_on_401_then_the_call_again(self):
        s, p = self.server, self.provider
        seeded = p.seed()
        conn = self.connection(refresh_token=seeded["refresh_token"],
                               access_token=seeded["access_token"],
                               expires_at=format_time(s.fake_now() + timedelta(hours=1)))
        p.revoke(access=True)
        run = self.assertCompletedWithApi(s.start_run(self.workflow(conn))["id"])
        self.assertEqual(find_step(run, "call")["attempt"], 1)
        stats = p.stats()
        self.assertEqual((stats["api_calls"], stats["api_unauthorized"],
                          stats["refresh_grants"]), (2, 1, 1))

    def test_a_second_401_is_the_answer(self):
        s, p, t = self.server, self.provider, self.target
        seeded = p.seed()
        conn = self.connection(refresh_token=seeded["refresh_token"],
                               access_token=seeded["access_token"],
                               expires_at=format_time(s.fake_now() + timedelta(hours=1)))
        path = t.route(t.unique_path("always-401"), status=401, body={"error": "no"})
        run = s.run_and_wait(self.workflow(conn, url=t.url(path)))
        self.assertIsNone(run["pause"], run)
        auths = [r["headers"]["authorization"] for r in t.requests(path)]
        self.assertEqual(len(auths), 2, auths)
        fresh = [a for a in p.issued()["access_tokens"] if a != seeded["access_token"]]
        self.assertEqual(auths, [f"Bearer {seeded['access_token']}", f"Bearer {fresh[0]}"])
        self.assertEqual(self.stat("refresh_grants"), 1)
        self.assertEqual(self.connection_api(conn["id"])["status"], "active")

    def test_a_rotated_refresh_token_is_stored(self):
        s, p = self.server, self.provider
        p.set_mode(rotate=True)
        conn = self.connection()
        wf = self.workflow(conn)
        self.assertCompletedWithApi(s.start_run(wf)["id"])  # the seeded token is spent
        p.revoke(access=True)
        self.assertCompletedWithApi(s.start_run(wf)["id"])  # 401, refresh with the new one
        self.assertStatus(self.connection_api(conn["id"], "refresh"), 200)
        self.assertEqual(self.stat("refresh_grants"), 3)
        self.assertEqual(self.connection_api(conn["id"])["status"], "active")

    def test_one_refresh_for_20_runs_at_once(self):
        s, p = self.server, self.provider
        conn = self.connection()
        wf = self.workflow(conn)
        p.set_mode(hold=True)
        runs = [s.start_run(wf)["id"] for _ in range(20)]
        wait_until(lambda: self.stat("held") == 1, desc="the refresh to reach the provider")
        for run_id in runs:
            s.wait_step(run_id, "call", "running")
        self.assertEqual(self.stat("token_requests"), 1)
        p.release()
        for run_id in runs:
            self.assertCompletedWithApi(run_id)
        self.assertEqual((self.stat("refresh_grants"), self.stat("api_calls")), (1, 20))


class TransientFailuresTest(HoldsBase):
    def advance_until_requests(self, count, limit_s=20):
        """Moves the fake clock 1 s at a time until the provider has seen `count` token
        requests (a back-off timer set after one move is passed by the next)."""
        deadline = time.monotonic() + scaled(limit_s)
        while self.stat("token_requests") < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.stat('token_requests')} token requests "
                                     f"within {limit_s}s, wanted {count}")
            self.server.advance_clock_and_settle(1000)

    def assertNothingHeld(self, run_id, conn):
        """The run goes on in its step's attempt: not paused, not waiting on a reauth."""
        run = self.server.get_run(run_id)
        self.assertIn(run["status"], ("running", "waiting"), run)
        self.assertIsNone(run["pause"], run)
        self.assertNotEqual((run["wait"] or {}).get("kind"), "reauth", run)
        after = self.connection_api(conn["id"])
        self.assertEqual((after["status"], after["error"]), ("active", None))

    def test_500_and_429_are_retried_after_back_offs(self):
        s, p = self.server, self.provider
        for mode in ("error_500", "error_429"):
            with self.subTest(mode):
                p.reset()
                conn = self.connection()
                p.set_mode(token=mode, times=2)
                run = s.start_run(self.workflow(conn))["id"]
                wait_until(lambda: self.stat("token_requests") == 1, desc="the first refresh")
                s.advance_clock_and_settle(400)  # well inside the ~1 s back-off
                self.assertEqual(self.stat("token_requests"), 1)
                self.assertNothingHeld(run, conn)
                self.advance_until_requests(2)
                self.assertNothingHeld(run, conn)
                self.advance_until_requests(3)
                done = self.assertCompletedWithApi(run)
                self.assertEqual(find_step(done, "call")["attempt"], 1)
                self.assertEqual(self.stat("refresh_grants"), 3)
                notes = s.api("GET", "/api/v1/notifications").json["items"]
                self.assertFalse([n for n in notes if conn["id"] in n["link"]], notes)

    def test_no_answer_is_retried(self):
        s, p = self.server, self.provider
        conn = self.connection()
        p.set_mode(token="timeout", times=1)
        # The provider holds the answer ~30 s: the step's own timeout must not end it first.
        run = s.start_run(self.workflow(conn, timeout="5m"))["id"]
        wait_until(lambda: self.stat("token_requests") == 1, desc="the first refresh")
        self.assertNothingHeld(run, conn)
        self.advance_until_requests(2, limit_s=90)  # the server's own timeout, in real time
        self.assertCompletedWithApi(run)
        self.assertEqual(self.connection_api(conn["id"])["status"], "active")


class PermanentFailuresTest(HoldsBase):
    def test_a_run_is_held_before_the_call_and_resumes_after_reconnect(self):
        s, p = self.server, self.provider
        conn = self.connection(app="slack")
        wf = self.workflow(conn)
        p.set_mode(token="invalid_grant")
        first = self.held_paused(s.start_run(wf)["id"], conn)
        self.assertNoAttempt(first)
        dead = self.connection_api(conn["id"])
        self.assertEqual(dead["status"], "error")
        self.assertEqual(dead["error"]["message"], REVOKED)
        notes = [n for n in s.api("GET", "/api/v1/notifications").json["items"]
                 if n["link"] == f"/default/connections/{conn['id']}"]
        self.assertEqual([(n["kind"], n["title"]) for n in notes],
                         [("connection_error", "Slack reauth required")])
        audit = s.api("GET", f"/api/v1/audit?target={conn['id']}").json["items"]
        self.assertIn(("error", "system"),
                      [(e["action"].rsplit(".", 1)[-1], e["actor"]) for e in audit])
        # Later runs are held without asking the provider.
        requests = self.stat("token_requests")
        later = [self.held_paused(s.start_run(wf)["id"], conn) for _ in range(3)]
        for run in later:
            self.assertNoAttempt(run)
        self.assertEqual(self.stat("token_requests"), requests)
        held = {first["id"], *(r["id"] for r in later)}
        self.assertLessEqual(held, self.run_ids("pause_reason=reauth"))
        self.assertFalse(held & self.run_ids("pause_reason=operator"))
        audit = s.api("GET", f"/api/v1/audit?target={first['id']}").json["items"]
        self.assertIn("system", [e["actor"] for e in audit], audit)
        # Resume while the connection is in error.
        refused = s.control(first["id"], "resume")
        self.assertError(refused, 409, "connection_needs_reauth", NEEDS_REAUTH)
        self.assertEqual(s.get_run(first["id"])["version"], first["version"])
        # Reconnect: the runs stay paused until Resume.
        p.set_mode(token="ok")
        self.reconnect(conn)
        s.wait_engine_idle()
        for run_id in held:
            self.assertEqual(s.get_run(run_id)["status"], "paused")
        for run_id in held:
            self.assertStatus(s.control(run_id, "resume"), 200)
            self.assertCompletedWithApi(run_id)
        self.assertEqual(self.stat("api_calls"), 4)

    def test_run_filters_refuse_unknown_reasons_and_kinds(self):
        """API.md (Search): an invalid value of a list filter, such as an unknown wait
        kind or pause reason, is 400."""
        s = self.server
        for query in ("pause_reason=bogus", "wait_kind=bogus", "pause_reason=REAUTH"):
            with self.subTest(query):
                self.assertError(s.api("GET", f"/api/v1/runs?{query}"), 400,
                                 "invalid_request")
        for query in ("pause_reason=reauth", "pause_reason=operator", "wait_kind=reauth"):
            with self.subTest(query):
                self.assertStatus(s.api("GET", f"/api/v1/runs?{query}"), 200)

    def test_a_run_is_held_at_the_step_that_uses_the_connection(self):
        s, p = self.server, self.provider
        conn = self.connection()
        self.kill_refresh(conn)
        wf = unique("wf-later-step")
        s.put_workflow({"id": wf, "steps": [
            noop("first", "done"),
            http_step("call", p.api_url(wf), connection=conn["name"])]})
        run = self.held_paused(s.start_run(wf)["id"], conn)
        self.assertEqual(find_step(run, "first")["status"], "completed")
        self.assertNoAttempt(run)
        self.reconnect(conn)
        self.assertStatus(s.control(run["id"], "resume"), 200)
        done = s.wait_status(run["id"], *TERMINAL)
        self.assertEqual(done["status"], "completed", done)
        self.assertEqual(done["output"]["status"], 200)

    def test_a_401_then_a_permanent_refresh_failure(self):
        s, p = self.server, self.provider
        seeded = p.seed()
        conn = self.connection(refresh_token=seeded["refresh_token"],
                               access_token=seeded["access_token"],
                               expires_at=format_time(s.fake_now() + timedelta(hours=1)))
        p.revoke(access=True)
        p.set_mode(token="invalid_grant")
        run = self.held_paused(s.start_run(self.workflow(conn))["id"], conn)
        step = find_step(run, "call")
        self.assertEqual(step["attempts"][-1]["error"]["code"], "connection_needs_reauth",
                         step)
        self.assertEqual((self.stat("api_calls"), self.stat("api_unauthorized")), (1, 1))
        p.set_mode(token="ok")
        self.reconnect(conn)
        self.assertStatus(s.control(run["id"], "resume"), 200)
        done = self.assertCompletedWithApi(run["id"])
        self.assertEqual(find_step(done, "call")["attempt"], 2)
        self.assertEqual(self.stat("api_calls"), 2)

    def test_invalid_client_holds_too(self):
        s, p = self.server, self.provider
        conn = self.connection(client_secret="wrong-" + new_client_secret())
        run = self.held_paused(s.start_run(self.workflow(conn))["id"], conn)
        self.assertNoAttempt(run)
        self.assertTrue(self.connection_api(conn["id"])["error"]["message"]
                        .startswith("invalid_client"))
        self.reconnect(conn, client_secret=p.client_secret)
        self.assertStatus(s.control(run["id"], "resume"), 200)
        self.assertCompletedWithApi(run["id"])

    def test_agent_mode_waits_and_a_reconnect_wakes_it(self):
        s, p = self.server, self.provider
        conn = self.connection()
        agent_wf, standard_wf = self.workflow(conn, mode="agent"), self.workflow(conn)
        p.set_mode(token="invalid_grant")
        agent = self.held_waiting(s.start_run(agent_wf)["id"], conn)
        self.assertNoAttempt(agent)
        standard = self.held_paused(s.start_run(standard_wf)["id"], conn)
        self.assertIn(agent["id"], self.run_ids("wait_kind=reauth"))
        self.assertNotIn(agent["id"], self.run_ids("pause_reason=reauth"))
        self.assertNotIn(standard["id"], self.run_ids("wait_kind=reauth"))
        self.assertError(s.control(agent["id"], "resume"), 409)
        self.assertEqual(self.stat("api_calls"), 0)
        p.set_mode(token="ok")
        self.reconnect(conn)
        self.assertCompletedWithApi(agent["id"])
        s.wait_engine_idle()
        self.assertEqual(s.get_run(standard["id"])["status"], "paused")
        self.assertStatus(s.control(standard["id"], "resume"), 200)
        self.assertCompletedWithApi(standard["id"])

    def test_200_agent_runs_released_by_one_reconnect(self):
        s = self.server
        conn = self.connection()
        wf = self.workflow(conn, mode="agent")
        self.kill_refresh(conn)
        requests = self.stat("token_requests")
        runs = {s.start_run(wf)["id"] for _ in range(200)}
        wait_until(lambda: self.run_ids(f"workflow_id={wf}&wait_kind=reauth") == runs,
                   scaled(60), "200 reauth waits")
        self.assertEqual((self.stat("token_requests"), self.stat("api_calls")), (requests, 0))
        grants = self.stat("refresh_grants")
        self.reconnect(conn)
        wait_until(lambda: self.run_ids(f"workflow_id={wf}&status=completed") == runs,
                   scaled(60), "200 completed runs")
        self.assertEqual(self.stat("refresh_grants") - grants, 1)
        self.assertEqual((self.stat("api_calls"), self.stat("api_unauthorized")), (200, 0))


class ConnectionErrorDeliveryTest(HoldsBase):
    def test_the_connection_error_reaches_the_channels(self):
        s, p = self.server, self.provider
        target = self.start_target()
        hook = target.route(target.unique_path("hook"), body={"ok": True})
        resp = s.api("PUT", "/api/v1/notification-channels",
                     {"email": {"to": []}, "webhooks": [{"url": target.url(hook),
                                                         "format": "json"}]})
        self.assertStatus(resp, 200)
        conn = self.connection(app="hubspot")
        p.set_mode(token="invalid_grant")
        self.held_paused(s.start_run(self.workflow(conn))["id"], conn)
        body = target.wait_for_request(hook)["json"]
        self.assertEqual((body["kind"], body["title"]),
                         ("connection_error", "Hubspot reauth required"), body)
        self.assertIn(f"/default/connections/{conn['id']}", body["link"])


class RacesTest(HoldsBase):
    """A pause or cancel sent while the refresh that will fail is in flight: the hold and
    the control are compare-and-sets on the same run, and the run ends one way."""

    def held_refresh(self, count):
        s, p = self.server, self.provider
        conn = self.connection()
        wf = self.workflow(conn)
        p.set_mode(token="invalid_grant", times=1, hold=True)
        runs = [s.start_run(wf)["id"] for _ in range(count)]
        wait_until(lambda: self.stat("held") == 1, desc="the refresh to reach the provider")
        for run_id in runs:
            s.wait_step(run_id, "call", "running")
        return conn, runs

    def control_all(self, runs, action):
        answers = {}

        def send(run_id):
            return lambda: answers.__setitem__(run_id, self.server.control(run_id, action))

        together(self.provider.release, *(send(r) for r in runs))
        return answers

    def test_cancel_racing_the_hold(self):
        s = self.server
        conn, runs = self.held_refresh(10)
        answers = self.control_all(runs, "cancel")
        wait_until(lambda: self.connection_api(conn["id"])["status"] == "error",
                   desc="the connection in error")
        s.wait_engine_idle()
        for run_id, resp in answers.items():
            answered = self.assertStatus(resp, 200)
            self.assertEqual(answered["status"], "cancelled")
            final = s.get_run(run_id)
            self.assertEqual((final["status"], final["cancel"]),
                             ("cancelled", answered["cancel"]), final)
            self.assertIsNone(final["pause"], final)
        self.assertEqual(self.stat("api_calls"), 0)

    def test_pause_racing_the_hold(self):
        s = self.server
        conn, runs = self.held_refresh(10)
        answers = self.control_all(runs, "pause")
        wait_until(lambda: self.connection_api(conn["id"])["status"] == "error",
                   desc="the connection in error")
        s.wait_engine_idle()
        for run_id, resp in answers.items():
            final = s.get_run(run_id)
            self.assertEqual(final["status"], "paused", final)
            if resp.status == 200:  # the pause the caller was told about stands
                self.assertEqual(resp.json["pause"]["reason"], "operator", resp)
                self.assertEqual(final["pause"], resp.json["pause"], final)
            else:
                self.assertError(resp, 409, "invalid_transition")
                self.assertEqual(final["pause"]["reason"], "reauth", final)
        self.assertEqual(self.stat("api_calls"), 0)
        self.reconnect(conn)
        for run_id in runs:
            self.assertStatus(s.control(run_id, "resume"), 200)
            self.assertCompletedWithApi(run_id)


    def test_a_reconnect_racing_a_failing_refresh(self):
        """The refresh of the old token fails after the reconnect has landed: that
        answer is about tokens no longer stored, so the connection stays active and the
        runs go on with the new token (none is held with nothing left to wake it)."""
        s, p = self.server, self.provider
        conn = self.connection()
        agent_wf, standard_wf = self.workflow(conn, mode="agent"), self.workflow(conn)
        p.set_mode(token="invalid_grant", times=1, hold=True)
        runs = [s.start_run(agent_wf)["id"], s.start_run(standard_wf)["id"]]
        wait_until(lambda: self.stat("held") == 1, desc="the refresh to reach the provider")
        self.reconnect(conn)
        p.release()
        for run_id in runs:
            self.assertCompletedWithApi(run_id)
        after = self.connection_api(conn["id"])
        self.assertEqual((after["status"], after["error"]), ("active", None), after)


class KillWhileHeldTest(HoldsBase):
    def test_runs_stay_held_across_a_kill_9(self):
        s = self.server
        conn = self.connection()
        standard_wf, agent_wf = self.workflow(conn), self.workflow(conn, mode="agent")
        self.kill_refresh(conn)
        standard = self.held_paused(s.start_run(standard_wf)["id"], conn)
        agent = self.held_waiting(s.start_run(agent_wf)["id"], conn)
        requests = self.stat("token_requests")
        s.restart()  # SIGKILL
        s.wait_engine_idle()
        after = self.held_paused(standard["id"], conn)
        self.assertEqual(after["pause"], standard["pause"])
        self.held_waiting(agent["id"], conn)
        self.assertNoAttempt(after)
        self.assertEqual(self.connection_api(conn["id"])["status"], "error")
        late = self.held_waiting(s.start_run(agent_wf)["id"], conn)
        self.assertEqual((self.stat("token_requests"), self.stat("api_calls")), (requests, 0))
        self.reconnect(conn)
        self.assertCompletedWithApi(agent["id"])
        self.assertCompletedWithApi(late["id"])
        self.assertStatus(s.control(standard["id"], "resume"), 200)
        self.assertCompletedWithApi(standard["id"])
        self.assertEqual(self.stat("refresh_grants"), 2)  # the failed one, then one


if __name__ == "__main__":
    unittest.main()
