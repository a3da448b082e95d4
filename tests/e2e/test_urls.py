"""URLs as the server reads them and as the `http` step follows them: a path segment is
decoded on its own (an id holding %2F stays one id), "+" is a plus in paths and a space
in queries, malformed targets are 400 `invalid_request` (before any token is read), and
a redirect's Location is resolved with its dot segments removed (RFC 3986)."""

import unittest

from harness import E2ETestCase, http_step


class UrlTest(E2ETestCase):
    @classmethod
    def setUpClass(cls):
        cls.target = cls.start_target()
        cls.server = s = cls.start_server(allow_private_targets=True)
        s.put_workflow({"id": "url-wait", "steps": [
            {"id": "e", "type": "wait_for_event", "with": {"event_type": "never-sent"}}]})
        cls.run_id = s.start_run("url-wait")["id"]
        s.wait_status(cls.run_id, "waiting")

    def assertStillWaiting(self):
        run = self.server.get_run(self.run_id)
        self.assertEqual((run["status"], run["cancel"]), ("waiting", None), run)

    def test_encoded_slash_stays_inside_the_id(self):
        s, r = self.server, self.run_id
        # Not /runs/{id}/pause read with GET (405): one id "<id>/pause", which is no run.
        self.assertError(s.api("GET", f"/api/v1/runs/{r}%2Fpause"), 404, "not_found")
        self.assertError(s.api("GET", f"/api/v1/runs/{r}%2fpause"), 404, "not_found")
        # Not a cancel: POST on the path of one run, which takes only GET.
        self.assertError(s.api("POST", f"/api/v1/runs/{r}%2Fcancel", {}), 405,
                         "method_not_allowed")
        self.assertError(s.api("GET", "/api/v1/workflows/url-wait%2Fruns"), 404, "not_found")
        self.assertError(s.api("DELETE", f"/api/v1/workflows/url-wait%2Fruns%2F{r}"), 405,
                         "method_not_allowed")
        self.assertStillWaiting()
        self.assertStatus(s.api("GET", f"/api/v1/runs/{r}"), 200)

    def test_plus_is_a_plus_in_paths_and_a_space_in_queries(self):
        s = self.server
        self.assertError(s.api("GET", "/api/v1/workflows/url-wait/versions/1+1"), 404,
                         "not_found", "No version 1+1 of workflow url-wait")
        self.assertError(s.api("GET", "/api/v1/workflows/url-wait/versions/1%2B1"), 404,
                         "not_found", "No version 1+1 of workflow url-wait")
        self.assertError(s.api("GET", "/api/v1/workflows/url-wait/versions/1%201"), 404,
                         "not_found", "No version 1 1 of workflow url-wait")
        self.assertError(s.api("GET", "/api/v1/runs?status=paused+waiting"), 400,
                         "invalid_request", "Unknown status 'paused waiting'")
        self.assertError(s.api("GET", "/api/v1/runs?status=paused%2Bwaiting"), 400,
                         "invalid_request", "Unknown status 'paused+waiting'")
        self.assertError(s.api("GET", "/api/v1/runs?pause_reason=bogus"), 400,
                         "invalid_request", "Unknown pause_reason 'bogus' (operator or reauth)")
        self.assertError(s.api("GET", "/api/v1/runs?wait_kind=bogus"), 400,
                         "invalid_request", "Unknown wait_kind 'bogus'")
        self.assertStatus(s.api("GET", "/api/v1/runs?wait_kind=reauth"), 200)
        ids = {run["id"] for run in s.api("GET", "/api/v1/runs?status=paused%2Cwaiting").json[
            "items"]}
        self.assertIn(self.run_id, ids)

    def test_malformed_targets_are_400_before_authentication(self):
        s = self.server
        for path in ("/api/v1/runs/%zz", "/api/v1/runs/%", "/api/v1/runs/%4",
                     "/api/v1/runs?limit=%", "/api/v1/runs?cursor=%%%garbage",
                     "/api/v1/runs/a|b", "/api/v1/runs/a{b}", "/api/v1/runs#top", "/%%%",
                     "/api/v1/workflows?x=[1]"):
            for token in (s.admin_token, None):
                with self.subTest(path=path, token=bool(token)):
                    resp = s.request("GET", path, token=token,
                                     headers={"X-Request-Id": "url-test-1"})
                    self.assertError(resp, 400, "invalid_request")
                    self.assertEqual(resp.headers.get("X-Request-Id"), "url-test-1")
        self.assertStillWaiting()
        self.assertTrue(s.healthy())

    def test_odd_but_valid_encodings_are_ids_like_any_other(self):
        s = self.server
        for path in ("/api/v1/runs/%00", "/api/v1/runs/%FF%FE", "/api/v1/runs/%E2%82",
                     "/api/v1/runs/%7E", "/api/v1/runs/%2E%2E", "/api/v1/runs/run%20x"):
            with self.subTest(path=path):
                self.assertError(s.api("GET", path), 404, "not_found")
        self.assertTrue(s.healthy())

    def test_dot_segments_in_a_request_are_not_resolved(self):
        s = self.server
        viewer = s.create_token("viewer", "url-viewer")["token"]
        # Clients remove dot segments before sending; what arrives is routed as it is,
        # so ".." never leads from a path the caller may use to one it may not.
        self.assertError(s.api("GET", "/api/v1/runs/../tokens", token=viewer), 404, "not_found")
        self.assertError(s.api("GET", "/api/v1/./runs"), 404, "not_found")
        self.assertError(s.api("POST", f"/api/v1/runs/{self.run_id}/../cancel", {}), 404,
                         "not_found")
        self.assertStillWaiting()

    def test_redirects_resolve_dot_segments_and_keep_encodings(self):
        s, t = self.server, self.target
        base = t.unique_path("redir")
        start = t.route(base + "/a/b/start", status=302,
                        redirect_to="../../c/./x%2Fy+z/../d?q=a+b%2B")
        s.put_workflow({"id": "url-redirect", "steps": [http_step("h", t.url(start))]})
        run = s.run_and_wait("url-redirect")
        self.assertEqual(run["status"], "completed", run)
        self.assertEqual(run["output"]["body"], {"ok": True, "path": base + "/c/d"})
        arrived = t.wait_for_request(base + "/c/d")
        self.assertEqual(arrived["query"], "q=a+b%2B")

        encoded = t.route(base + "/e/start", status=302, redirect_to="f%2Fg+h")
        s.put_workflow({"id": "url-redirect-enc", "steps": [http_step("h", t.url(encoded))]})
        run = s.run_and_wait("url-redirect-enc")
        self.assertEqual(run["output"]["body"], {"ok": True, "path": base + "/e/f%2Fg+h"})


if __name__ == "__main__":
    unittest.main()
