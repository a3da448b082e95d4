"""Who may read GET /metrics: the holder of the metrics token given at start
(STEPWELL_METRICS_TOKEN or --metrics-token-file), nobody else (401; a workspace's
token, even an admin's, 403); anyone with --public-metrics; nobody at all when the
server has no metrics token."""

import os
import unittest

from harness import E2ETestCase


class MetricsAccessTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = cls.start_server()
        cls.viewer = cls.server.create_token("viewer", "metrics-viewer")["token"]
        cls.other_admin = cls.server.create_workspace("metrics-other")

    def assertMetrics(self, resp):
        self.assertEqual(resp.status, 200, resp)
        self.assertIn("stepwell_active_runs ", resp.text)

    def test_metrics_token_reads(self):
        self.assertMetrics(self.server.api("GET", "/metrics", token=self.server.metrics_token))

    def test_no_or_other_token_is_401(self):
        s = self.server
        for token in (None, "not-the-metrics-token", s.metrics_token + "x", s.metrics_token[:-1]):
            with self.subTest(token=token):
                resp = s.api("GET", "/metrics", token=token)
                self.assertError(resp, 401, "unauthorized")
                self.assertNotIn("stepwell_", resp.text)
        resp = s.api("GET", "/metrics", token=None,
                     headers={"Authorization": f"Basic {s.metrics_token}"})
        self.assertError(resp, 401, "unauthorized")

    def test_workspace_tokens_are_403(self):
        s = self.server
        for name, token in (("admin", s.admin_token), ("viewer", self.viewer),
                            ("other workspace's admin", self.other_admin)):
            with self.subTest(name):
                resp = s.api("GET", "/metrics", token=token)
                self.assertError(resp, 403, "forbidden")
                self.assertNotIn("stepwell_", resp.text)

    def test_workspace_session_cookie_is_403(self):
        s = self.server
        signed_in = s.api("POST", "/api/v1/session", {"token": s.admin_token}, token=None)
        self.assertEqual(signed_in.status, 204, signed_in)
        cookie = signed_in.headers["Set-Cookie"].split(";")[0]
        resp = s.api("GET", "/metrics", token=None, headers={"Cookie": cookie})
        self.assertError(resp, 403, "forbidden")

    def test_token_file(self):
        path = os.path.join(self.server.data_dir, "metrics-token-for-file-test")
        with open(path, "w") as f:
            f.write("metrics-from-file-0123456789\n")
        # The file wins over the environment's token.
        s = self.start_test_server(extra_args=["--metrics-token-file", path])
        self.assertMetrics(s.api("GET", "/metrics", token="metrics-from-file-0123456789"))
        self.assertError(s.api("GET", "/metrics", token=s.metrics_token), 401, "unauthorized")

    def test_public_metrics_needs_no_token(self):
        s = self.start_test_server(extra_args=["--public-metrics"])
        self.assertMetrics(s.api("GET", "/metrics", token=None))

    def test_without_a_metrics_token_metrics_is_closed(self):
        s = self.start_test_server(env={"STEPWELL_METRICS_TOKEN": ""})
        self.assertError(s.api("GET", "/metrics", token=None), 401, "unauthorized")
        self.assertError(s.api("GET", "/metrics", token="anything"), 401, "unauthorized")
        self.assertError(s.api("GET", "/metrics"), 403, "forbidden")
        self.assertIn("STEPWELL_METRICS_TOKEN", s.log_text())
        self.assertIn("--public-metrics", s.log_text())


if __name__ == "__main__":
    unittest.main()
