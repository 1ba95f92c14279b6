"""The JWKS cache: keys by ``kid``, fetched again on an unknown ``kid`` at most once per interval."""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from typing import Any

import httpx
import jwt

from .errors import GuardError

#: More keys than any rotation keeps: a larger set is refused, not cached.
MAX_KEYS = 32


class KeySet:
    def __init__(self, url: str, refetch_interval: float, timeout: float) -> None:
        self.url = url
        self.refetch_interval = refetch_interval
        self.timeout = timeout
        self.fetches = 0
        self._keys: dict[str, Any] = {}
        self._last_fetch: float | None = None
        self._last_failed = False
        # Held while fetching, so concurrent misses make one request (one lock per world).
        self._lock = threading.Lock()
        # asyncio locks belong to one event loop: one per loop that asks.
        self._alocks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    def get(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            # Another caller may have fetched while this one waited.
            if kid in self._keys:
                return self._keys[kid]
            self._may_fetch()
            with httpx.Client(timeout=self.timeout, follow_redirects=False) as http:
                self._store(self._read(lambda: http.get(self.url)))
        return self._found(kid)

    async def aget(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is not None:
            return key
        loop = asyncio.get_running_loop()
        lock = self._alocks.get(loop)
        if lock is None:
            lock = self._alocks.setdefault(loop, asyncio.Lock())
        async with lock:
            if kid in self._keys:
                return self._keys[kid]
            self._may_fetch()
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as http:
                try:
                    response = await http.get(self.url)
                except httpx.HTTPError:
                    raise GuardError.unavailable("Latchkey's keys") from None
                self._store(self._read(lambda: response))
        return self._found(kid)

    def _may_fetch(self) -> None:
        now = time.monotonic()
        if self._last_fetch is not None and now - self._last_fetch < self.refetch_interval:
            # Inside the floor: an unknown key stays unknown, unless the keys could not be read
            # at all (then the token may be fine, and the caller should retry, not sign in again).
            if self._last_failed:
                raise GuardError.unavailable("Latchkey's keys")
            raise GuardError.invalid_token("unknown signing key")
        self._last_fetch = now
        self._last_failed = True
        self.fetches += 1

    def _read(self, send: Any) -> dict[str, Any]:
        try:
            response = send()
        except httpx.HTTPError:
            raise GuardError.unavailable("Latchkey's keys") from None
        if response.status_code != 200:
            raise GuardError.unavailable("Latchkey's keys")
        try:
            body = response.json()
        except ValueError:
            raise GuardError.unavailable("Latchkey's keys") from None
        keys = body.get("keys") if isinstance(body, dict) else None
        if not isinstance(keys, list) or len(keys) > MAX_KEYS:
            raise GuardError.unavailable("Latchkey's keys")
        return {"keys": keys}

    def _store(self, jwks: dict[str, Any]) -> None:
        fresh: dict[str, Any] = {}
        for jwk in jwks["keys"]:
            if not isinstance(jwk, dict) or jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
                continue
            kid = jwk.get("kid")
            if not isinstance(kid, str):
                continue
            try:
                fresh[kid] = jwt.PyJWK(jwk, algorithm="EdDSA").key
            except jwt.PyJWKError:
                continue
        self._keys = fresh
        self._last_failed = False

    def _found(self, kid: str) -> Any:
        key = self._keys.get(kid)
        if key is None:
            raise GuardError.invalid_token("unknown signing key")
        return key
