"""Notifications: the workspace's channels (validated strictly, admin only), the in-app
list with its unread count, and the outbox's deliveries to a real SMTP server (aiosmtpd,
run as a process by the Python that has it: STEPWELL_AIOSMTPD_PYTHON) and to local
webhook receivers: email, json and slack; a receiver that fails and recovers; a kill -9
with a delivery in flight. Notifications come from approval requests: the delivery
tests start approvals, and the magic links in their messages decide them."""

import email
import email.policy
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from harness import E2ETestCase, scaled, stepwell_bin

AIOSMTPD_PYTHON = os.environ.get("STEPWELL_AIOSMTPD_PYTHON") or "/usr/bin/python3"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """aiosmtpd on a local port, keeping each message in a maildir."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="stepwell-smtp-")
        self.port = free_port()
        self.proc = subprocess.Popen(
            [AIOSMTPD_PYTHON, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{self.port}",
             "-c", "aiosmtpd.handlers.Mailbox", os.path.join(self.dir, "mail")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + scaled(20)
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError(f"aiosmtpd ({AIOSMTPD_PYTHON}) did not start")
                time.sleep(0.05)

    @property
    def url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def messages(self):
        new = Path(self.dir, "mail", "new")
        if not new.is_dir():
            return []
        return [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted(new.iterdir())]

    def wait_messages(self, count, timeout=10):
        deadline = time.monotonic() + scaled(timeout)
        while len(self.messages()) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.messages())} email(s), wanted {count}")
            time.sleep(0.05)
        return self.messages()

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)


APPROVAL_WF = {"id": "ntf-gate", "steps": [
    {"id": "gate", "type": "approval", "with": {"message": "Charge acme 42 EUR?"}}]}


class ChannelsAndListTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server()
        cls.viewer = cls.server.create_token("viewer", "ntf-viewer")["token"]
        cls.operator = cls.server.create_token("operator", "ntf-operator")["token"]

    def test_channels_are_empty_until_put_then_read_back_and_audited(self):
        s = self.server
        admin = s.create_workspace("ntf-fresh")  # untouched by the other tests
        r = s.request("GET", "/api/v1/notification-channels", token=admin)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json, {"email": {"to": []}, "webhooks": []})
        body = {"email": {"to": ["ops@example.test"]},
                "webhooks": [{"url": "https://hooks.example.test/a", "format": "slack"},
                             {"url": "http://127.0.0.1:9/b"}]}
        r = s.request("PUT", "/api/v1/notification-channels", body, token=admin)
        self.assertEqual(r.status, 200, r.text)
        expected = {"email": {"to": ["ops@example.test"]},
                    "webhooks": [{"url": "https://hooks.example.test/a", "format": "slack"},
                                 {"url": "http://127.0.0.1:9/b", "format": "json"}]}
        self.assertEqual(r.json, expected)
        self.assertEqual(s.request("GET", "/api/v1/notification-channels", token=admin).json,
                         expected)
        audit = s.request("GET", "/api/v1/audit?target=notification-channels",
                          token=admin).json["items"]
        self.assertTrue(any(a["action"] == "notification_channels.update" for a in audit), audit)
        # Another workspace has its own (none).
        other = s.create_workspace("ntf-other")
        r = s.request("GET", "/api/v1/notification-channels", token=other)
        self.assertEqual(r.json, {"email": {"to": []}, "webhooks": []})

    def test_bad_channels_are_refused_and_change_nothing(self):
        s = self.server
        good = {"email": {"to": ["keep@example.test"]}, "webhooks": []}
        self.assertEqual(s.request("PUT", "/api/v1/notification-channels", good).status, 200)
        for body, field in [
                ({"sms": {"to": ["1"]}}, "sms"),
                ({"email": {"to": ["not an address"]}}, "email.to[0]"),
                ({"email": {"to": ["a@example.test"], "bcc": []}}, "email.bcc"),
                ({"webhooks": [{"url": "ftp://x.test/h"}]}, "webhooks[0].url"),
                ({"webhooks": [{"url": "https://x.test/h", "format": "xml"}]},
                 "webhooks[0].format"),
                ({"webhooks": [{"url": "https://x.test/h", "headers": {}}]},
                 "webhooks[0].headers")]:
            with self.subTest(field=field):
                r = s.request("PUT", "/api/v1/notification-channels", body)
                self.assertError(r, 400, "invalid_request")
                self.assertEqual(r.json["error"].get("field"), field, r.text)
        r = s.request("PUT", "/api/v1/notification-channels", raw_body=b"[1]",
                      headers={"Content-Type": "application/json"})
        self.assertError(r, 400, "invalid_request")
        self.assertEqual(s.request("GET", "/api/v1/notification-channels").json, good)

    def test_roles(self):
        s = self.server
        for token in (self.viewer, self.operator):
            self.assertError(s.request("GET", "/api/v1/notification-channels", token=token),
                              403, "forbidden")
            self.assertError(s.request("PUT", "/api/v1/notification-channels", {}, token=token),
                              403, "forbidden")
            self.assertError(s.request("GET", "/api/v1/notifications/deliveries", token=token),
                              403, "forbidden")
            r = s.request("GET", "/api/v1/notifications", token=token)
            self.assertEqual(r.status, 200, r.text)
        self.assertError(s.request("GET", "/api/v1/notifications", token="sw_bogus"),
                          401, "unauthorized")

    def test_the_list_and_its_errors(self):
        s = self.server
        r = s.request("GET", "/api/v1/notifications?unread=true&limit=10", token=self.viewer)
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json, {"items": [], "next_cursor": None, "unread_count": 0})
        for query in ("unread=maybe", "limit=0", "limit=501", "colour=red"):
            with self.subTest(query=query):
                self.assertError(s.request("GET", f"/api/v1/notifications?{query}"),
                                  400, "invalid_request")
        self.assertError(s.request("POST", "/api/v1/notifications/ntf_nothing/read",
                                    token=self.viewer), 404, "not_found")
        r = s.request("GET", "/api/v1/notifications/deliveries")
        self.assertEqual(r.status, 200, r.text)
        self.assertEqual(r.json, {"items": [], "next_cursor": None})


class ServeFlagsTest(unittest.TestCase):
    def serve(self, *flags):
        data_dir = tempfile.mkdtemp(prefix="stepwell-e2e-")
        self.addCleanup(shutil.rmtree, data_dir, ignore_errors=True)
        return subprocess.run([stepwell_bin(), "serve", "--data-dir", data_dir, "--listen",
                               "127.0.0.1:0", *flags], capture_output=True, text=True,
                              timeout=scaled(20))

    def test_an_smtp_url_needs_a_sender_and_must_be_smtp(self):
        r = self.serve("--smtp-url", "smtp://127.0.0.1:1")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--smtp-from", r.stderr)
        r = self.serve("--smtp-url", "http://127.0.0.1:1", "--smtp-from", "sw@example.test")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("smtp://", r.stderr)


class DeliveryTest(E2ETestCase):
    """Needs the `approval` step: an approval request is what notifies."""

    @classmethod
    def setUpClass(cls):
        cls.sink = SmtpSink()
        cls.addClassCleanup(cls.sink.close)
        cls.target = cls.start_target()
        cls.server = cls.start_server(
            fake_clock=True, allow_private_targets=True,
            extra_args=("--smtp-url", cls.sink.url, "--smtp-from", "stepwell@example.test",
                        "--public-url", "https://stepwell.example.test"))
        r = cls.server.request("PUT", f"/api/v1/workflows/{APPROVAL_WF['id']}", APPROVAL_WF)
        if r.status not in (200, 201):
            raise AssertionError(f"PUT {APPROVAL_WF['id']}: {r.text}")

    def set_channels(self, emails, webhooks):
        r = self.server.request("PUT", "/api/v1/notification-channels",
                                {"email": {"to": emails}, "webhooks": webhooks})
        self.assertEqual(r.status, 200, r.text)

    def deliveries(self, notification_id):
        items = self.server.request("GET", "/api/v1/notifications/deliveries?limit=500").json
        return {d["target"]: d for d in items["items"]
                if d["notification_id"] == notification_id}

    def wait_deliveries(self, notification_id, predicate, desc, timeout=10):
        deadline = time.monotonic() + scaled(timeout)
        while True:
            got = self.deliveries(notification_id)
            if predicate(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"deliveries never {desc}: {got}")
            time.sleep(0.05)

    def request_approval(self):
        """Starts a run that waits on an approval; answers its notification."""
        s = self.server
        before = {n["id"] for n in s.request("GET", "/api/v1/notifications").json["items"]}
        run = s.start_run(APPROVAL_WF["id"])
        s.wait_status(run["id"], "waiting")
        deadline = time.monotonic() + scaled(10)
        while True:
            items = s.request("GET", "/api/v1/notifications").json["items"]
            new = [n for n in items if n["id"] not in before]
            if new:
                self.assertEqual(new[0]["kind"], "approval_requested")
                return new[0]
            if time.monotonic() > deadline:
                raise AssertionError("no approval_requested notification")
            time.sleep(0.05)

    def test_email_json_and_slack_are_delivered_and_the_bell_counts_unread(self):
        t = self.target
        hook, slack = t.route(t.unique_path("json")), t.route(t.unique_path("slack"))
        self.set_channels(["ops@example.test"],
                          [{"url": t.url(hook), "format": "json"},
                           {"url": t.url(slack), "format": "slack"}])
        n = self.request_approval()
        got = self.wait_deliveries(
            n["id"], lambda d: len(d) == 3 and all(x["status"] == "delivered" for x in d.values()),
            "all delivered")
        self.assertEqual(got["ops@example.test"]["channel"], "email")
        self.assertEqual(got["ops@example.test"]["attempts"], 1)

        mail = [m for m in self.sink.messages() if n["title"] in str(m["Subject"])]
        self.assertEqual(len(mail), 1)
        self.assertEqual(mail[0]["To"], "ops@example.test")
        self.assertEqual(mail[0]["From"], "stepwell@example.test")
        self.assertTrue(mail[0]["Message-ID"])
        self.assertTrue(mail[0]["Date"])
        text = mail[0].get_content()
        self.assertIn("https://stepwell.example.test" + n["link"], text)
        # The email's magic link is the recipient's own, and decides the approval once.
        links = re.findall(r"https://stepwell\.example\.test(/approve/[A-Za-z0-9_-]+)", text)
        self.assertTrue(links, text)
        s = self.server
        page = s.request("GET", links[0], token=None)
        self.assertEqual(page.status, 200, page.text)
        decided = s.request("POST", links[0], {"decision": "approve"}, token=None)
        self.assertEqual(decided.status, 200, decided.text)
        self.assertEqual(decided.json["decisions"][0]["by"], "ops@example.test")
        self.assertEqual(decided.json["decisions"][0]["via"], "link")
        self.assertEqual(s.request("POST", links[0], {"decision": "approve"}, token=None).status, 410)

        body = t.wait_for_request(hook)["json"]
        self.assertEqual(body["kind"], "approval_requested")
        self.assertEqual(body["title"], n["title"])
        self.assertEqual(body["link"], n["link"])
        self.assertIn("approval_id", body["subject"])
        slack_body = t.wait_for_request(slack)["json"]
        self.assertIsInstance(slack_body["text"], str)
        self.assertEqual(slack_body["blocks"][1]["type"], "actions")
        buttons = [e["url"] for e in slack_body["blocks"][1]["elements"]]
        self.assertEqual(sum("https://stepwell.example.test/approve/" in u for u in buttons), 2,
                         buttons)

        s = self.server
        unread = s.request("GET", "/api/v1/notifications?unread=true").json
        self.assertGreaterEqual(unread["unread_count"], 1)
        self.assertIn(n["id"], [x["id"] for x in unread["items"]])
        r = s.request("POST", f"/api/v1/notifications/{n['id']}/read")
        self.assertEqual(r.status, 200, r.text)
        self.assertIsNotNone(r.json["read_at"])
        after = s.request("GET", "/api/v1/notifications?unread=true").json
        self.assertEqual(after["unread_count"], unread["unread_count"] - 1)
        self.assertNotIn(n["id"], [x["id"] for x in after["items"]])

    def test_a_failing_receiver_is_retried_and_its_error_is_visible_meanwhile(self):
        t = self.target
        hook = t.route(t.unique_path("flaky"),
                       handler=lambda rec, hits: (500, {"down": True}) if hits == 1 else (200, {}))
        self.set_channels([], [{"url": t.url(hook), "format": "json"}])
        n = self.request_approval()
        got = self.wait_deliveries(n["id"], lambda d: d and list(d.values())[0]["attempts"] == 1,
                                   "attempted once")
        d = got[t.url(hook)]
        self.assertEqual(d["status"], "pending")
        self.assertIn("HTTP 500", d["last_error"])
        self.assertIsNotNone(d["next_attempt_at"])
        self.server.advance_clock(1000)
        got = self.wait_deliveries(n["id"], lambda d: list(d.values())[0]["status"] == "delivered",
                                   "delivered")
        self.assertEqual(got[t.url(hook)]["attempts"], 2)
        self.assertEqual(t.hits(hook), 2)

    def test_a_delivery_in_flight_at_a_kill_is_sent_after_the_restart(self):
        t = self.target
        hook = t.route(t.unique_path("held"), block=True)
        self.set_channels([], [{"url": t.url(hook), "format": "json"}])
        n = self.request_approval()
        t.wait_for_request(hook)
        self.server.restart(signal.SIGKILL)
        t.release(hook)
        got = self.wait_deliveries(n["id"], lambda d: list(d.values())[0]["status"] == "delivered",
                                   "delivered after the restart")
        self.assertGreaterEqual(t.hits(hook), 2)
        self.assertEqual(got[t.url(hook)]["attempts"], 1)


if __name__ == "__main__":
    unittest.main()
