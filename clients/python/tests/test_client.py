"""The client's refresh rules and the API-key client, against the real server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import PASSWORD, Counted, Server

from latchkey import ApiKeyClient, LatchkeyClient, LatchkeyError, MemoryStore, MfaRequired, SignedIn

REFRESH = "POST /api/v1/auth/refresh"
ME = "GET /api/v1/me"


def tampered(token: str) -> str:
    """An access token the server refuses (its signature altered), as a revoked or expired one is."""
    head, body, sig = token.split(".")
    return f"{head}.{body}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}"


def test_login_attaches_the_token_and_logout_ends_the_session(server: Server) -> None:
    account = server.signup()
    counted = Counted()
    client = LatchkeyClient(server.base, http=counted.client)
    signed_in = client.login(account["email"], PASSWORD)
    assert isinstance(signed_in, SignedIn)
    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    assert me.json()["user_id"] == account["user"]["user_id"]
    assert counted.counts[REFRESH] == 0

    token = client.access_token()
    client.logout()
    assert server.call("GET", "/api/v1/me", token=token).status_code == 401
    with pytest.raises(LatchkeyError) as gone:
        client.get("/api/v1/me")
    assert gone.value.error == "not_signed_in"


def test_a_refused_token_is_refreshed_once_and_the_request_retried_once(server: Server) -> None:
    account = server.signup()
    counted = Counted()
    client = LatchkeyClient(server.base, http=counted.client)
    client.adopt_tokens({**account, "access_token": tampered(account["access_token"])})
    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.text
    assert counted.counts[REFRESH] == 1
    assert counted.counts[ME] == 2


def test_a_token_about_to_expire_is_refreshed_before_the_request(server: Server) -> None:
    account = server.signup()
    counted = Counted()
    client = LatchkeyClient(server.base, http=counted.client, refresh_margin=60)
    # The server says this token lives 30 more seconds: inside the margin.
    client.adopt_tokens({**account, "expires_in": 30})
    assert client.get("/api/v1/me").status_code == 200
    assert (counted.counts[REFRESH], counted.counts[ME]) == (1, 1)
    assert client.access_token() != account["access_token"]


def test_concurrent_requests_from_an_empty_memory_cause_exactly_one_refresh(server: Server) -> None:
    account = server.signup()
    store = MemoryStore()
    LatchkeyClient(server.base, store=store).adopt_tokens(account)
    # The program starts again: the store holds the refresh token, memory holds nothing.
    counted = Counted()
    client = LatchkeyClient(server.base, store=store, http=counted.client)
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: client.get("/api/v1/me").status_code, range(30)))
    assert set(answers) == {200}
    assert counted.counts[REFRESH] == 1


def test_a_refused_refresh_token_ends_the_session_once(server: Server) -> None:
    account = server.signup()
    ended: list[bool] = []
    client = LatchkeyClient(server.base, on_session_expired=lambda: ended.append(True))
    client.adopt_tokens(account)
    # Signed out everywhere from another device: the access and refresh tokens are dead.
    assert server.call("POST", "/api/v1/auth/logout-all", token=account["access_token"]).status_code == 200
    with pytest.raises(LatchkeyError) as first:
        client.get("/api/v1/me")
    assert first.value.error == "session_expired"
    with pytest.raises(LatchkeyError) as second:
        client.get("/api/v1/me")
    assert second.value.error == "not_signed_in"
    assert ended == [True]


def totp(secret: str, at: float) -> str:
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    digest = hmac.new(key, struct.pack(">Q", int(at // 30)), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def test_a_mailed_code_signs_in_and_a_wrong_one_is_refused(server: Server) -> None:
    account = server.signup()
    client = LatchkeyClient(server.base)
    login_id = client.send_login_code(account["email"])
    code = server.mailed_code(account["email"])
    with pytest.raises(LatchkeyError) as wrong:
        client.login_with_code(login_id, "000000" if code != "000000" else "111111")
    assert wrong.value.error == "invalid_session_code"
    signed_in = client.login_with_code(login_id, code)
    assert isinstance(signed_in, SignedIn)
    assert signed_in.user["user_id"] == account["user"]["user_id"]
    assert client.get("/api/v1/me").json()["email"] == account["email"]


def test_a_second_factor_finishes_a_password_login_and_a_mailed_code_login(server: Server) -> None:
    account = server.signup()
    token = account["access_token"]
    # The owner proves the address with the sign-up mail's link and the password: until then a
    # mailed code would take the account over and ask for no second factor set up before.
    link = server.from_mail(account["email"], r"token=(lkv_[A-Za-z0-9_-]+)")
    proved = server.call("POST", "/api/v1/auth/email/verify", json={"token": link, "password": PASSWORD})
    assert proved.status_code == 204, proved.text
    assert server.call("POST", "/api/v1/auth/reauthenticate", token=token, json={"password": PASSWORD}).status_code == 200
    enroll = server.call("POST", "/api/v1/mfa/totp/enroll", token=token)
    assert enroll.status_code == 200, enroll.text
    secret = enroll.json()["secret"]
    confirm = server.call("POST", "/api/v1/mfa/totp/confirm", token=token, json={"code": totp(secret, time.time())})
    assert confirm.status_code == 200, confirm.text
    recovery = confirm.json()["recovery_codes"]

    client = LatchkeyClient(server.base)
    step = client.login(account["email"], PASSWORD)
    assert isinstance(step, MfaRequired)
    assert "totp" in step.methods
    with pytest.raises(LatchkeyError) as wrong:
        client.verify_mfa(step, "00000-00000")
    assert wrong.value.error == "invalid_mfa_code"
    assert wrong.value.data["attempts_left"] >= 1
    done = client.verify_mfa(step, recovery[0])
    assert done.user["user_id"] == account["user"]["user_id"]
    assert client.get("/api/v1/me").status_code == 200

    by_mail = LatchkeyClient(server.base)
    login_id = by_mail.send_login_code(account["email"])
    step = by_mail.login_with_code(login_id, server.mailed_code(account["email"]))
    assert isinstance(step, MfaRequired)
    assert step.login_id == login_id
    # The next 30-second step (one step of drift is allowed): the confirmation used this one.
    assert by_mail.verify_mfa(step, totp(secret, time.time() + 30)).user["email"] == account["email"]
    assert by_mail.get("/api/v1/me").status_code == 200


def test_an_api_key_is_exchanged_once_and_renewed_once_after_a_refusal(server: Server) -> None:
    account = server.signup()
    counted = Counted()
    client = ApiKeyClient(server.base, account["api_key"]["key"], http=counted.client)
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(lambda _: client.get("/api/v1/me"), range(20)))
    assert {a.status_code for a in answers} == {200}
    assert answers[0].json()["key_id"] == account["api_key"]["id"]
    assert counted.counts["POST /get-token"] == 1

    # The key is rotated with no overlap (its auth tokens end) and the new one handed over:
    # the next request is refused once, renewed once, and succeeds.
    rotated = server.call(
        "POST", f"/api/v1/api-keys/{account['api_key']['id']}/rotate", token=account["access_token"], json={"overlap_seconds": 0}
    )
    assert rotated.status_code == 200, rotated.text
    client.set_api_key(rotated.json()["key"])
    assert client.get("/api/v1/me").status_code == 200
    assert counted.counts["POST /get-token"] == 2
    assert counted.counts[ME] == 22
    assert "lk_" not in repr(client)


def test_a_refused_api_key_raises_the_server_error(server: Server) -> None:
    client = ApiKeyClient(server.base, "lk_not_a_key")
    with pytest.raises(LatchkeyError) as refused:
        client.get("/api/v1/me")
    assert (refused.value.status, refused.value.error) == (401, "invalid_api_key")
