"""Keeps a person signed in: the access token in memory, the refresh token in a store you
choose, one refresh at a time, and one refresh and one retry when the server refuses a token."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from .errors import LatchkeyError

REFRESH_PATH = "/api/v1/auth/refresh"


class TokenStore(Protocol):
    """Where the refresh token is kept (a file with mode 0600, a keyring, a database row…)."""

    def get(self) -> str | None: ...
    def set(self, token: str) -> None: ...
    def remove(self) -> None: ...


class MemoryStore:
    """Keeps the refresh token for the life of the process."""

    def __init__(self) -> None:
        self._token: str | None = None

    def get(self) -> str | None:
        return self._token

    def set(self, token: str) -> None:
        self._token = token

    def remove(self) -> None:
        self._token = None


@dataclass(frozen=True)
class SignedIn:
    """A token response: the session is in use by the client."""

    tokens: dict[str, Any] = field(repr=False)

    @property
    def user(self) -> dict[str, Any]:
        return dict(self.tokens.get("user") or {})

    @property
    def api_key(self) -> dict[str, Any] | None:
        """The default API key, in a sign-up's answer only (shown once)."""
        key = self.tokens.get("api_key")
        return dict(key) if isinstance(key, dict) else None


@dataclass(frozen=True)
class MfaRequired:
    """The first factor was right; finish with :meth:`LatchkeyClient.verify_mfa`. After a
    password it carries the ``mfa_token``; after a mailed code, the ``login_id`` and the code."""

    methods: tuple[str, ...]
    mfa_token: str | None = field(default=None, repr=False)
    login_id: str | None = None
    session_code: str | None = field(default=None, repr=False)


class LatchkeyClient:
    """A signed-in session against Latchkey at ``base_url``, safe to share between threads.

    Before a request the access token is refreshed when there is none or it expires within
    ``refresh_margin`` seconds; a ``401`` (or a ``403 invalid_token``) is answered by one refresh
    and one retry; concurrent callers share one refresh; when the server refuses the refresh
    token the session ends here too (``session_expired``, and ``on_session_expired`` once).
    """

    def __init__(
        self,
        base_url: str,
        *,
        store: TokenStore | None = None,
        refresh_margin: float = 60.0,
        http: httpx.Client | None = None,
        on_session_expired: Callable[[], None] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.store: TokenStore = store if store is not None else MemoryStore()
        self.refresh_margin = refresh_margin
        self.http = http if http is not None else httpx.Client(timeout=10.0)
        self.on_session_expired = on_session_expired
        self._access: str | None = None
        self._expires_at = 0.0
        self._live = False
        self._lock = threading.Lock()

    # Signing in -------------------------------------------------------------------------------

    def login(self, email: str, password: str) -> SignedIn | MfaRequired:
        """Email and password. Neither is kept; only the refresh token is stored."""
        body = self._post("/api/v1/auth/login", {"email": email, "password": password})
        if body.get("status") == "mfa_required":
            return MfaRequired(methods=_methods(body), mfa_token=str(body["mfa_token"]))
        return self.adopt_tokens(body)

    def send_login_code(self, email: str) -> str:
        """Mails a one-time sign-in code (and a magic link); the ``login_id`` to verify it with.
        Every valid address gets an answer, with or without an account."""
        return str(self._post("/api/v1/auth/code", {"email": email})["login_id"])

    def login_with_code(self, login_id: str, code: str) -> SignedIn | MfaRequired:
        """Signs in with the mailed code (signing the address up when it has no account and the
        server allows it). A wrong code raises ``invalid_session_code``."""
        body = self._post("/api/v1/auth/code/verify", {"login_id": login_id, "session_code": code})
        if body.get("status") == "mfa_required":
            return MfaRequired(methods=_methods(body), login_id=login_id, session_code=code)
        return self.adopt_tokens(body)

    def verify_mfa(self, step: MfaRequired, code: str) -> SignedIn:
        """The second step of a login: a TOTP code or a recovery code. A wrong code raises
        ``invalid_mfa_code`` with ``data["attempts_left"]``; the same ``step`` may be tried again."""
        if step.mfa_token is not None:
            body: dict[str, Any] = {"mfa_token": step.mfa_token, "mfa_code": code}
            return self.adopt_tokens(self._post("/api/v1/auth/mfa/verify", body))
        body = {"login_id": step.login_id, "session_code": step.session_code, "mfa_code": code}
        return self.adopt_tokens(self._post("/api/v1/auth/code/verify", body))

    def signup(self, email: str, password: str, **extra: Any) -> SignedIn:
        """Creates an account and signs in; the answer carries the default API key (once)."""
        return self.adopt_tokens(self._post("/api/v1/auth/signup", {"email": email, "password": password, **extra}))

    def adopt_tokens(self, tokens: dict[str, Any]) -> SignedIn:
        """Uses a token response obtained elsewhere (an exchange, another process's sign-in)."""
        if not isinstance(tokens.get("access_token"), str):
            raise LatchkeyError(0, "invalid_response", "not a token response")
        with self._lock:
            self._adopt(tokens)
        return SignedIn(tokens)

    def logout(self) -> None:
        """Ends this session at the server (when reachable) and forgets every token here."""
        with self._lock:
            token = self._access
            try:
                if token:
                    self.http.post(self._url("/api/v1/auth/logout"), headers={"Authorization": f"Bearer {token}"})
            except httpx.HTTPError:
                pass  # Offline: the local session ends anyway; the server's ends with its refresh token.
            finally:
                self._live = False
                self._clear()

    # Using the session ------------------------------------------------------------------------

    def access_token(self) -> str:
        """A valid access token, refreshed first when missing or inside the refresh margin."""
        token, expires_at = self._access, self._expires_at
        if token and expires_at - self.refresh_margin > time.monotonic():
            return token
        return self.refresh(token)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """An ``httpx`` request with the access token attached (``url`` may be a path on the
        server). A refused token gets one refresh and one retry; the retry's answer is returned
        whatever it is."""
        target = self._url(url) if url.startswith("/") else url
        first = self.access_token()
        response = self._send(method, target, first, kwargs)
        if not _rejects_token(response):
            return response
        return self._send(method, target, self.refresh(first), kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def refresh(self, used: str | None = None) -> str:
        """A fresh access token after the server refused ``used``. When another caller already
        replaced it, that token is returned without a refresh."""
        with self._lock:
            # Someone else's refresh replaced `used` while this caller waited for the lock.
            if self._access and self._access != used and self._expires_at > time.monotonic():
                return self._access
            stored = self.store.get()
            if not stored:
                raise LatchkeyError(401, "not_signed_in", "no session: sign in first")
            response = self._refresh_request(stored)
            if response.status_code == 200:
                return self._adopt(response.json())
            error = LatchkeyError.from_response(response)
            # The server refused the session itself: end it here too. Anything else (5xx, 429, a
            # proxy in trouble) keeps the session, and the next request tries again.
            if response.status_code in (400, 401, 403) or error.error in ("invalid_token", "invalid_grant"):
                was_live = self._live
                self._live = False
                self._clear()
                if was_live and self.on_session_expired:
                    self.on_session_expired()
                raise LatchkeyError(401, "session_expired", error.message)
            raise error

    # Inside -----------------------------------------------------------------------------------

    def _refresh_request(self, stored: str) -> httpx.Response:
        """Network failures are retried twice with backoff inside the one refresh."""
        for attempt in range(3):
            try:
                return self.http.post(self._url(REFRESH_PATH), json={"refresh_token": stored})
            except httpx.HTTPError as e:
                if attempt == 2:
                    raise LatchkeyError(0, "network_error", f"could not reach the server: {e}") from None
                time.sleep(0.25 * 2**attempt)
        raise AssertionError("unreachable")

    def _adopt(self, tokens: dict[str, Any]) -> str:
        # expires_in, not expires_at: this machine's clock may be wrong, the duration is not.
        if tokens.get("refresh_token"):
            self.store.set(str(tokens["refresh_token"]))
        self._access = str(tokens["access_token"])
        self._expires_at = time.monotonic() + float(tokens.get("expires_in", 0))
        self._live = True
        return self._access

    def _clear(self) -> None:
        self._access = None
        self._expires_at = 0.0
        self.store.remove()

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = self.http.post(self._url(path), json=body)
        except httpx.HTTPError as e:
            raise LatchkeyError(0, "network_error", f"could not reach the server: {e}") from None
        if response.is_error:
            raise LatchkeyError.from_response(response)
        answer = response.json()
        if not isinstance(answer, dict):
            raise LatchkeyError(response.status_code, "invalid_response", "the answer is not a JSON object")
        return answer

    def _send(self, method: str, url: str, token: str, kwargs: dict[str, Any]) -> httpx.Response:
        headers = dict(kwargs.get("headers") or {})
        headers["Authorization"] = f"Bearer {token}"
        return self.http.request(method, url, **{**kwargs, "headers": headers})

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"


def _methods(body: dict[str, Any]) -> tuple[str, ...]:
    return tuple(str(m) for m in (body.get("data") or {}).get("methods") or ())


def _rejects_token(response: httpx.Response) -> bool:
    """True when the answer says the access token was refused (not a missing permission)."""
    if response.status_code == 401:
        return True
    if response.status_code != 403:
        return False
    if 'error="invalid_token' in response.headers.get("www-authenticate", ""):
        return True
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error") in ("invalid_token", "invalid_grant")
