"""What the connection tests share: connection bodies for the fake OAuth provider
(tests/support/oauth_provider.py), workflows whose http step uses a connection, a GET
that does not follow redirects, and the search for secrets in bytes."""

import base64
import http.client
import itertools
import secrets
from urllib.parse import parse_qs, urlsplit

from harness import REQUEST_TIMEOUT, Response, http_step, noop, scaled

NEEDS_REAUTH = "Connection cannot be refreshed. Please reconnect your connection."

_counter = itertools.count(1)


def unique(prefix):
    """A name no other test of the process uses (connection names, workflow ids)."""
    return f"{prefix}-{next(_counter)}"


def new_client_secret():
    return "cs-" + secrets.token_urlsafe(24)


def oauth2(provider, refresh_token=None, **fields):
    """An `oauth2` object for `provider` with a fresh seeded refresh token unless one is
    given; `fields` are added, and a field given as None is left out."""
    body = {"token_url": provider.token_url, "client_id": provider.client_id,
            "client_secret": provider.client_secret,
            "refresh_token": refresh_token or provider.seed()["refresh_token"]}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def connection_workflow(wf_id, connection, url, mode=None, timeout=None):
    """`call` (an http step with the connection) then `after` (a noop of its body)."""
    definition = {"id": wf_id, "steps": [
        http_step("call", url, timeout=timeout, connection=connection),
        noop("after", "${{ steps.call.output.body }}")]}
    if mode is not None:
        definition["mode"] = mode
    return definition


def fetch(url, headers=None):
    """One GET of an absolute URL, redirects not followed."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port,
                                      timeout=scaled(REQUEST_TIMEOUT))
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def query_of(url):
    """The query of `url` as {name: value} (each name once)."""
    parsed = parse_qs(urlsplit(url).query, keep_blank_values=True)
    for name, values in parsed.items():
        if len(values) != 1:
            raise AssertionError(f"{name} appears {len(values)} times in {url}")
    return {name: values[0] for name, values in parsed.items()}


def encodings(secret):
    """The secret as bytes, and in the encodings a careless store might use."""
    raw = secret.encode("utf-8")
    return {"raw": raw, "hex": raw.hex().encode("ascii"),
            "base64": base64.b64encode(raw).rstrip(b"="),
            "base64url": base64.urlsafe_b64encode(raw).rstrip(b"=")}


def secrets_in(data, candidates):
    """[(secret, encoding)] of every candidate found in `data` (bytes)."""
    found = []
    for secret in candidates:
        for name, needle in encodings(secret).items():
            if needle in data:
                found.append((secret, name))
    return found
