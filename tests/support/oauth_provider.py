"""A fake OAuth 2.0 provider for tests: token endpoint, authorize endpoint, a protected API.

Python 3 standard library only. Use it in-process:

    from oauth_provider import OAuthProvider
    p = OAuthProvider(); p.start(); ...; p.url; p.stop()

or as a process (the browser tests spawn it): `python3 oauth_provider.py --port 0` prints
`READY <port>` on stdout and serves until killed.

Endpoints:
  POST /token          RFC 6749 §4.1.3 (authorization_code, with PKCE S256 per RFC 7636)
                       and §6 (refresh_token). Client auth: client_id/client_secret in the
                       form or HTTP Basic.
  GET  /authorize      auto-consents: 302 to redirect_uri?code=…&state=… (or
                       ?error=access_denied&state=… when told to deny).
  *    /api/<anything> 200 {"ok", "path", "method"} for a valid, unexpired bearer access
                       token, else 401.
  POST /_control/seed    issue a refresh and an access token (answers them)
  POST /_control/mode    {"token": "ok"|"error_500"|"error_429"|"timeout"|"invalid_grant"|
                          "invalid_client", "times": N, "rotate": bool, "expires_in": N,
                          "deny_authorize": bool, "hold": bool}
                         `times`: the next N token requests get `token`, then "ok" again
                         (default: until changed). `hold`: token requests wait (up to
                         60 s) until /_control/release, then get the mode of that moment.
  POST /_control/release answers the held token requests and turns `hold` off
  POST /_control/revoke  {"access": bool, "refresh": bool}: revokes every issued token of
                         that kind
  GET  /_control/stats   counters ("held": token requests waiting now) and the last
                         token request's form (secrets removed)
  POST /_control/reset   forget every token, code, counter and mode; release held answers

Thread-safety: the server is threaded (one thread per connection); all state is behind
one lock. A `timeout` answer waits outside the lock for ~30 s or until reset, then hangs
up without answering.
"""

import argparse
import base64
import hashlib
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit, urlunsplit

DEFAULT_CLIENT_ID = "stepwell-test-client"
DEFAULT_CLIENT_SECRET = "stepwell-test-client-secret"
DEFAULT_EXPIRES_IN = 3600
TIMEOUT_HOLD_SECONDS = 30.0
HOLD_MAX_SECONDS = 60.0
CODE_LIFETIME_SECONDS = 600.0
TOKEN_MODES = ("ok", "error_500", "error_429", "timeout", "invalid_grant", "invalid_client")
# Fields of a token request that never appear in stats.
SECRET_FIELDS = ("client_secret", "refresh_token", "code", "code_verifier")


class _Mode:
    def __init__(self):
        self.token = "ok"
        self.times = None  # None: until changed
        self.rotate = False
        self.expires_in = DEFAULT_EXPIRES_IN
        self.deny_authorize = False
        self.hold = False


class _State:
    """Everything the provider remembers. Guarded by `lock`."""

    def __init__(self):
        self.lock = threading.Lock()
        self.release = threading.Event()  # set by reset: held `timeout` answers end
        self.gate = threading.Event()     # set by release (and reset): held requests go on
        self.clear()

    def clear(self):
        self.mode = _Mode()
        self.refresh_tokens = {}  # token -> {"revoked": bool}
        self.access_tokens = {}   # token -> {"expires_at": monotonic, "revoked": bool}
        self.codes = {}           # code -> {"client_id", "redirect_uri", "challenge", ...}
        self.stats = {"token_requests": 0, "refresh_grants": 0, "code_grants": 0,
                      "api_calls": 0, "api_unauthorized": 0, "authorize_requests": 0,
                      "held": 0,
                      "last_token_request": None, "last_authorize_request": None}

    def issue(self, *, with_refresh):
        """Issues an access token (and a refresh token) under the current mode."""
        expires_in = self.mode.expires_in
        access = "at_" + secrets.token_urlsafe(24)
        self.access_tokens[access] = {"expires_at": time.monotonic() + expires_in,
                                      "revoked": False}
        answer = {"access_token": access, "token_type": "Bearer", "expires_in": expires_in}
        if with_refresh:
            refresh = "rt_" + secrets.token_urlsafe(24)
            self.refresh_tokens[refresh] = {"revoked": False}
            answer["refresh_token"] = refresh
        return answer

    def access_valid(self, token):
        entry = self.access_tokens.get(token)
        return (entry is not None and not entry["revoked"]
                and entry["expires_at"] > time.monotonic())

    def forced_answer(self):
        """The mode's answer for this token request, or None to process it normally."""
        mode = self.mode
        if mode.token == "ok":
            return None
        kind = mode.token
        if mode.times is not None:
            mode.times -= 1
            if mode.times <= 0:
                mode.token, mode.times = "ok", None
        return kind


def s256(verifier):
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _with_query(url, params):
    parts = urlsplit(url)
    query = parts.query + ("&" if parts.query else "") + urlencode(params)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOAuth/1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass

    # ---------------------------------------------------------------- plumbing

    @property
    def state(self):
        return self.server.state

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, status, payload=None, headers=()):
        body = b"" if payload is None else json.dumps(payload).encode("utf-8")
        self.send_response(status)
        if payload is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-store")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json_body(self):
        raw = self._body()
        if not raw.strip():
            return {}
        value = json.loads(raw.decode("utf-8"))
        if not isinstance(value, dict):
            raise ValueError("body must be a JSON object")
        return value

    def _route(self, method):
        path = urlsplit(self.path).path
        if path.startswith("/api/") or path == "/api":
            return self._api(method, path)
        routes = {("POST", "/token"): self._token,
                  ("GET", "/authorize"): self._authorize,
                  ("POST", "/_control/seed"): self._control_seed,
                  ("POST", "/_control/mode"): self._control_mode,
                  ("POST", "/_control/revoke"): self._control_revoke,
                  ("GET", "/_control/stats"): self._control_stats,
                  ("POST", "/_control/release"): self._control_release,
                  ("POST", "/_control/reset"): self._control_reset}
        handler = routes.get((method, path))
        if handler is None:
            self._body()
            return self._send(404, {"error": "not_found"})
        return handler()

    def do_GET(self):  # noqa: N802 - http.server's naming
        self._route("GET")

    def do_POST(self):  # noqa: N802
        self._route("POST")

    def do_PUT(self):  # noqa: N802
        self._route("PUT")

    def do_PATCH(self):  # noqa: N802
        self._route("PATCH")

    def do_DELETE(self):  # noqa: N802
        self._route("DELETE")

    def do_HEAD(self):  # noqa: N802
        self._route("HEAD")

    # ---------------------------------------------------------------- /token

    def _client(self, form):
        """(client_id, client_secret, how) from HTTP Basic or the form."""
        header = self.headers.get("Authorization") or ""
        if header[:6].lower() == "basic ":
            try:
                decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
                user, _, password = decoded.partition(":")
                return unquote_plus(user), unquote_plus(password), "basic"
            except (ValueError, UnicodeDecodeError):
                return None, None, "basic"
        return form.get("client_id"), form.get("client_secret"), "body"

    def _token(self):
        raw = self._body()
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace"),
                                             keep_blank_values=True).items()}
        client_id, client_secret, how = self._client(form)
        state = self.state
        with state.lock:
            state.stats["token_requests"] += 1
            grant = form.get("grant_type")
            if grant == "refresh_token":
                state.stats["refresh_grants"] += 1
            elif grant == "authorization_code":
                state.stats["code_grants"] += 1
            seen = {k: v for k, v in form.items() if k not in SECRET_FIELDS}
            seen["client_auth"] = how
            state.stats["last_token_request"] = seen
            gate = state.gate if state.mode.hold else None
            if gate is not None:
                state.stats["held"] += 1
        if gate is not None:
            gate.wait(HOLD_MAX_SECONDS)
            with state.lock:
                state.stats["held"] = max(0, state.stats["held"] - 1)  # 0 after a reset
        with state.lock:
            forced = state.forced_answer()
            release = state.release
            if forced is None:
                status, payload = self._grant(form, grant, client_id, client_secret)
        if forced is not None:
            return self._forced(forced, release)
        headers = [("WWW-Authenticate", 'Basic realm="oauth"')] if (
            status == 401 and how == "basic") else []
        self._send(status, payload, headers)

    def _forced(self, kind, release):
        if kind == "timeout":
            release.wait(TIMEOUT_HOLD_SECONDS)
            self.close_connection = True
            return None
        if kind == "error_500":
            return self._send(500, {"error": "server_error"})
        if kind == "error_429":
            return self._send(429, {"error": "rate_limited"}, [("Retry-After", "1")])
        if kind == "invalid_client":
            return self._send(401, {"error": "invalid_client"})
        return self._send(400, {"error": "invalid_grant",
                                "error_description": "Token has been revoked"})

    def _grant(self, form, grant, client_id, client_secret):
        """(status, payload) of a token request. Caller holds the lock."""
        if client_id != self.server.client_id or client_secret != self.server.client_secret:
            return 401, {"error": "invalid_client"}
        if grant == "refresh_token":
            return self._refresh_grant(form)
        if grant == "authorization_code":
            return self._code_grant(form, client_id)
        return 400, {"error": "unsupported_grant_type",
                     "error_description": f"grant_type {grant!r} is not supported"}

    def _refresh_grant(self, form):
        state = self.state
        entry = state.refresh_tokens.get(form.get("refresh_token") or "")
        if entry is None:
            return 400, {"error": "invalid_grant",
                         "error_description": "Unknown refresh token"}
        if entry["revoked"]:
            return 400, {"error": "invalid_grant",
                         "error_description": "Token has been revoked"}
        rotate = state.mode.rotate
        if rotate:
            entry["revoked"] = True
        return 200, state.issue(with_refresh=rotate)

    def _code_grant(self, form, client_id):
        state = self.state
        entry = state.codes.get(form.get("code") or "")
        if entry is None or entry["used"] or entry["expires_at"] <= time.monotonic():
            return 400, {"error": "invalid_grant",
                         "error_description": "Unknown, used or expired code"}
        entry["used"] = True
        if entry["client_id"] != client_id:
            return 400, {"error": "invalid_grant",
                         "error_description": "Code was issued to another client"}
        if form.get("redirect_uri") != entry["redirect_uri"]:
            return 400, {"error": "invalid_grant",
                         "error_description": "redirect_uri does not match"}
        verifier = form.get("code_verifier") or ""
        if not verifier or s256(verifier) != entry["challenge"]:
            return 400, {"error": "invalid_grant",
                         "error_description": "PKCE verification failed"}
        return 200, state.issue(with_refresh=True)

    # ---------------------------------------------------------------- /authorize

    def _authorize(self):
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query,
                                              keep_blank_values=True).items()}
        state = self.state
        redirect_uri = query.get("redirect_uri") or ""
        with state.lock:
            state.stats["authorize_requests"] += 1
            state.stats["last_authorize_request"] = dict(query)
            if (query.get("client_id") != self.server.client_id
                    or not redirect_uri.startswith(("http://", "https://"))):
                return self._send(400, {"error": "invalid_request",
                                        "error_description": "bad client_id or redirect_uri"})
            back = {}
            if state.mode.deny_authorize:
                back = {"error": "access_denied"}
            elif query.get("response_type") != "code":
                back = {"error": "unsupported_response_type"}
            elif (query.get("code_challenge_method") != "S256"
                  or not query.get("code_challenge")):
                back = {"error": "invalid_request",
                        "error_description": "PKCE S256 code_challenge required"}
            else:
                code = "code_" + secrets.token_urlsafe(24)
                state.codes[code] = {"client_id": query["client_id"],
                                     "redirect_uri": redirect_uri,
                                     "challenge": query["code_challenge"],
                                     "scope": query.get("scope"), "used": False,
                                     "expires_at": time.monotonic() + CODE_LIFETIME_SECONDS}
                back = {"code": code}
        if "state" in query:
            back["state"] = query["state"]
        self._send(302, None, [("Location", _with_query(redirect_uri, back))])

    # ---------------------------------------------------------------- /api

    def _api(self, method, path):
        self._body()
        header = self.headers.get("Authorization") or ""
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        state = self.state
        with state.lock:
            state.stats["api_calls"] += 1
            ok = bool(token) and state.access_valid(token)
            if not ok:
                state.stats["api_unauthorized"] += 1
        if not ok:
            return self._send(401, {"error": "invalid_token"},
                              [("WWW-Authenticate", 'Bearer error="invalid_token"')])
        self._send(200, {"ok": True, "path": path, "method": method})

    # ---------------------------------------------------------------- /_control

    def _control(self, action):
        try:
            body = self._json_body()
        except ValueError as err:
            return self._send(400, {"error": "bad_control_body", "message": str(err)})
        try:
            result = action(body)
        except ValueError as err:
            return self._send(400, {"error": "bad_control_body", "message": str(err)})
        return self._send(200, result)

    def _control_seed(self):
        self._control(self.server.provider.seed_from)

    def _control_mode(self):
        self._control(self.server.provider.set_mode_from)

    def _control_revoke(self):
        self._control(self.server.provider.revoke_from)

    def _control_release(self):
        self._control(lambda _body: self.server.provider.release())

    def _control_reset(self):
        self._control(lambda _body: self.server.provider.reset())

    def _control_stats(self):
        self._body()
        self._send(200, self.server.provider.stats())


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 4096  # a server releasing 10,000 runs connects all at once
    allow_reuse_address = True


class OAuthProvider:
    """The fake provider. start() binds and serves on a background thread."""

    def __init__(self, *, host="127.0.0.1", port=0, client_id=DEFAULT_CLIENT_ID,
                 client_secret=DEFAULT_CLIENT_SECRET):
        self.host = host
        self.requested_port = port
        self.client_id = client_id
        self.client_secret = client_secret
        self._state = _State()
        self._server = None
        self._thread = None

    # ---------------------------------------------------------------- lifecycle

    def start(self):
        server = _Server((self.host, self.requested_port), _Handler)
        server.state = self._state
        server.provider = self
        server.client_id = self.client_id
        server.client_secret = self.client_secret
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": 0.1},
                                        name="oauth-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        if self._server is None:
            return
        self._state.release.set()
        self._state.gate.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
        self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def port(self):
        return self._server.server_address[1]

    @property
    def url(self):
        return f"http://{self.host}:{self.port}"

    @property
    def token_url(self):
        return self.url + "/token"

    @property
    def authorize_url(self):
        return self.url + "/authorize"

    def api_url(self, path="resource"):
        return f"{self.url}/api/{path.lstrip('/')}"

    # ---------------------------------------------------------------- control

    def seed(self, *, expires_in=None):
        """Issues a valid refresh token and access token: {"refresh_token", ...}."""
        body = {} if expires_in is None else {"expires_in": expires_in}
        return self.seed_from(body)

    def seed_from(self, body):
        state = self._state
        with state.lock:
            saved = state.mode.expires_in
            if "expires_in" in body:
                state.mode.expires_in = _int(body, "expires_in")
            try:
                answer = state.issue(with_refresh=True)
            finally:
                state.mode.expires_in = saved
        return {"refresh_token": answer["refresh_token"],
                "access_token": answer["access_token"], "expires_in": answer["expires_in"]}

    def set_mode(self, **fields):
        return self.set_mode_from(fields)

    def set_mode_from(self, body):
        known = {"token", "times", "rotate", "expires_in", "deny_authorize", "hold"}
        unknown = set(body) - known
        if unknown:
            raise ValueError(f"unknown mode fields: {sorted(unknown)}")
        state = self._state
        with state.lock:
            mode = state.mode
            if "token" in body:
                if body["token"] not in TOKEN_MODES:
                    raise ValueError(f"token must be one of {TOKEN_MODES}")
                mode.token = body["token"]
                mode.times = None
                if body.get("times") is not None:
                    mode.times = _int(body, "times")
                if mode.token == "ok" or (mode.times is not None and mode.times <= 0):
                    mode.token, mode.times = "ok", None
            if "rotate" in body:
                mode.rotate = bool(body["rotate"])
            if "expires_in" in body:
                mode.expires_in = _int(body, "expires_in")
            if "deny_authorize" in body:
                mode.deny_authorize = bool(body["deny_authorize"])
            if "hold" in body:
                mode.hold = bool(body["hold"])
            return self._mode_view()

    def _mode_view(self):
        mode = self._state.mode
        return {"token": mode.token, "times": mode.times, "rotate": mode.rotate,
                "expires_in": mode.expires_in, "deny_authorize": mode.deny_authorize,
                "hold": mode.hold}

    def release(self):
        """Lets the held token requests go on and stops holding new ones."""
        state = self._state
        with state.lock:
            state.mode.hold = False
            state.gate.set()
            state.gate = threading.Event()
            return self._mode_view()

    def issued(self):
        """Every refresh token, access token and code issued so far (for tests that look
        for them where they must not be)."""
        state = self._state
        with state.lock:
            return {"refresh_tokens": list(state.refresh_tokens),
                    "access_tokens": list(state.access_tokens), "codes": list(state.codes)}

    def revoke(self, *, access=False, refresh=False):
        return self.revoke_from({"access": access, "refresh": refresh})

    def revoke_from(self, body):
        state = self._state
        revoked = {"access": 0, "refresh": 0}
        with state.lock:
            for kind, table in (("access", state.access_tokens),
                                ("refresh", state.refresh_tokens)):
                if body.get(kind):
                    for entry in table.values():
                        if not entry["revoked"]:
                            entry["revoked"] = True
                            revoked[kind] += 1
        return {"revoked": revoked}

    def stats(self):
        state = self._state
        with state.lock:
            return json.loads(json.dumps(state.stats))

    def reset(self):
        state = self._state
        with state.lock:
            state.release.set()
            state.release = threading.Event()
            state.gate.set()
            state.gate = threading.Event()
            state.clear()
        return {"reset": True}

    def issue_code(self, *, redirect_uri, code_challenge, client_id=None):
        """A code as /authorize would issue it (for tests that skip the redirect)."""
        state = self._state
        with state.lock:
            code = "code_" + secrets.token_urlsafe(24)
            state.codes[code] = {"client_id": client_id or self.client_id,
                                 "redirect_uri": redirect_uri, "challenge": code_challenge,
                                 "scope": None, "used": False,
                                 "expires_at": time.monotonic() + CODE_LIFETIME_SECONDS}
            return code


def _int(body, name):
    value = body[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an integer")
    return value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    args = parser.parse_args(argv)
    provider = OAuthProvider(host=args.host, port=args.port, client_id=args.client_id,
                             client_secret=args.client_secret).start()
    print(f"READY {provider.port}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        provider.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
