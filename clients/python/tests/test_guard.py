"""The guard protects a small API (FastAPI and Flask) against the real server."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from apps import FRAMEWORKS
from conftest import Org, Server, eventually, start_server

from latchkey import Guard, GuardError, Introspection


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    return str(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"])


def with_kid(token: str, kid: str) -> str:
    """The same token with its header naming a key the server never had."""
    header, *rest = token.split(".")
    h = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    h["kid"] = kid
    forged = base64.urlsafe_b64encode(json.dumps(h).encode()).rstrip(b"=").decode()
    return ".".join([forged, *rest])


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_token_with_the_route_scope_is_let_in_and_one_without_gets_403(
    framework: str, server: Server, org: Org
) -> None:
    api = FRAMEWORKS[framework](Guard(server.issuer))
    ann = org.member()
    ok = api.call("GET", ann["access_token"])
    assert ok.status_code == 200, ok.json()
    assert ok.json()["user"] == ann["user"]["user_id"]
    assert ok.json()["org"] == ann["user"]["org_id"]

    refused = api.call("POST", ann["access_token"])
    assert refused.status_code == 403
    assert refused.json() == {
        "status": "failed",
        "code": 403,
        "error": "insufficient_scope",
        "message": "the token lacks the scope orders:write",
        "data": {},
    }
    assert refused.headers["www-authenticate"] == 'Bearer realm="api", error="insufficient_scope", scope="orders:write"'

    # Once an operator grants the scope, a new token carries it.
    r = server.call(
        "PUT",
        f"/api/v1/admin/users/{ann['user']['user_id']}/scopes",
        token=org.operator_token,
        json={"scopes": ["orders:read", "orders:write"]},
    )
    assert r.status_code == 200, r.text
    assert api.call("POST", server.login(ann["email"])["access_token"]).status_code == 201

    none = api.call("GET")
    assert none.status_code == 401
    assert none.json()["error"] == "missing_token"
    assert none.headers["www-authenticate"] == 'Bearer realm="api"'
    junk = api.call("GET", "not-a-jwt")
    assert junk.status_code == 401
    assert junk.json()["error"] == "invalid_token"
    assert junk.headers["www-authenticate"] == 'Bearer realm="api", error="invalid_token"'


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_with_introspection_a_token_is_refused_once_its_session_logged_out(
    framework: str, server: Server, org: Org
) -> None:
    offline = FRAMEWORKS[framework](Guard(server.issuer))
    online = FRAMEWORKS[framework](
        Guard(server.issuer, introspection=Introspection(org.introspect_id, org.introspect_key, cache_seconds=1))
    )
    bob = org.member()
    assert online.call("GET", bob["access_token"]).status_code == 200
    r = server.call("POST", "/api/v1/auth/logout", token=bob["access_token"])
    assert r.status_code == 204, r.text

    eventually(lambda: online.call("GET", bob["access_token"]).status_code == 401, what="a 401 after logout")
    assert online.call("GET", bob["access_token"]).json()["message"] == "the session has ended"
    # Offline verification cannot see a logout: the token passes until it expires.
    assert offline.call("GET", bob["access_token"]).status_code == 200


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_workers_api_auth_token_is_let_in_through_introspection_until_its_key_is_deleted(
    framework: str, server: Server, org: Org
) -> None:
    offline = FRAMEWORKS[framework](Guard(server.issuer))
    online = FRAMEWORKS[framework](
        Guard(server.issuer, introspection=Introspection(org.introspect_id, org.introspect_key, cache_seconds=1))
    )
    gus = org.member()
    got = server.call("POST", "/get-token", json={"api_key": gus["api_key"]["key"]})
    assert got.status_code == 200, got.text
    auth_token = got.json()["data"]["auth_token"]

    for agent in (True, False):
        ok = online.call("GET", auth_token, agent=agent)
        assert ok.status_code == 200, ok.json()
        assert ok.json() == {
            "orders": [],
            "user": gus["user"]["user_id"],
            "org": gus["user"]["org_id"],
            "key": gus["api_key"]["id"],
        }
    assert online.call("POST", auth_token, agent=True).status_code == 403
    # Only Latchkey can read an API auth token: without introspection it is refused.
    refused = offline.call("GET", auth_token, agent=True)
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_token")

    r = server.call("DELETE", f"/api/v1/api-keys/{gus['api_key']['id']}", token=gus["access_token"])
    assert r.status_code == 204, r.text
    eventually(lambda: online.call("GET", auth_token, agent=True).status_code == 401, what="a 401 once the key is deleted")


def test_introspected_scopes_are_those_in_force_and_a_refused_client_fails_closed(server: Server, org: Org) -> None:
    guard = Guard(server.issuer, introspection=Introspection(org.introspect_id, org.introspect_key, cache_seconds=0))
    cy = org.member()
    assert guard.authorize(cy["access_token"], ["orders:read"]).scopes == ("orders:read",)
    r = server.call(
        "PUT", f"/api/v1/admin/users/{cy['user']['user_id']}/scopes", token=org.operator_token, json={"scopes": []}
    )
    assert r.status_code == 200, r.text
    with pytest.raises(GuardError) as refused:
        asyncio.run(guard.aauthorize(cy["access_token"], ["orders:read"]))
    assert (refused.value.status, refused.value.error) == (403, "insufficient_scope")

    wrong = Guard(server.issuer, introspection=Introspection(org.introspect_id, "lk_wrong", cache_seconds=0))
    with pytest.raises(GuardError) as unavailable:
        wrong.verify(org.member()["access_token"])
    assert (unavailable.value.status, unavailable.value.error) == (503, "service_unavailable")
    assert unavailable.value.headers() == {"Retry-After": "1"}


def test_tokens_of_another_issuer_or_audience_are_refused(server: Server, org: Org) -> None:
    eve = org.member()["access_token"]
    jwks = f"{server.base}/.well-known/jwks.json"
    for guard in (
        Guard(server.issuer, audience="https://other.example"),
        Guard("https://other.example", jwks_url=jwks),
    ):
        with pytest.raises(GuardError) as refused:
            guard.verify(eve)
        assert (refused.value.status, refused.value.message) == (401, "the token is invalid: wrong issuer or audience")

    # Another deployment: its own keys, which this one's JWKS does not have.
    other, data = start_server()
    try:
        stranger = other.signup()["access_token"]
        with pytest.raises(GuardError) as refused:
            Guard(server.issuer).verify(stranger)
        assert (refused.value.status, refused.value.error) == (401, "invalid_token")
    finally:
        other.process.kill()
        other.process.wait()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_jwks_is_fetched_again_for_a_rotated_key_but_not_for_forged_key_ids(
    mode: str, server: Server, org: Org
) -> None:
    guard = Guard(server.issuer, refetch_interval=1.0)

    def verify(token: str) -> Any:
        return guard.verify(token) if mode == "sync" else asyncio.run(guard.averify(token))

    fay = org.member()
    verify(fay["access_token"])
    verify(fay["access_token"])
    assert guard.jwks_fetches == 1

    # A flood of unknown key ids right after a fetch costs Latchkey nothing.
    for i in range(20):
        with pytest.raises(GuardError) as refused:
            verify(with_kid(fay["access_token"], f"forged-{i}"))
        assert refused.value.message == "the token is invalid: unknown signing key"
    assert guard.jwks_fetches == 1

    rotated = server.call("POST", "/api/v1/admin/signing-keys/rotate", token=org.operator_token)
    assert rotated.status_code == 201, rotated.text
    fresh = server.login(fay["email"])["access_token"]
    assert kid_of(fresh) == rotated.json()["kid"]

    def accepted() -> bool:
        try:
            verify(fresh)
            return True
        except GuardError:
            return False

    # The new kid is unknown here: the guard fetches the set again once the floor has passed.
    eventually(accepted, what="the rotated key to be fetched")
    assert guard.jwks_fetches >= 2
    # The old key still verifies the tokens it signed.
    assert verify(fay["access_token"]).user_id == fay["user"]["user_id"]


def test_an_unreachable_jwks_is_503_not_an_allow(server: Server, org: Org) -> None:
    with socket_closed() as url:
        guard = Guard(server.issuer, jwks_url=url)
        token = org.member()["access_token"]
        for _ in range(2):
            # The second, inside the refetch floor, is not sent; it is still no "invalid token".
            with pytest.raises(GuardError) as refused:
                guard.verify(token)
            assert (refused.value.status, refused.value.error) == (503, "service_unavailable")
        assert guard.jwks_fetches == 1


class socket_closed:
    """A URL on loopback where nothing listens."""

    def __enter__(self) -> str:
        import socket

        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{self.s.getsockname()[1]}/.well-known/jwks.json"

    def __exit__(self, *exc: object) -> None:
        self.s.close()


