"""Online checks at ``POST /oauth2/introspect``, with a short cache per token."""

from __future__ import annotations

import base64
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx

from .errors import GuardError


@dataclass(frozen=True)
class Introspection:
    """How the guard introspects: as an API key (``client_id`` = its id, ``client_secret`` = the
    ``lk_…`` key) whose owner holds ``latchkey:introspect`` in the organization whose tokens it
    checks. A revocation is seen within ``cache_seconds`` (0 asks on every request)."""

    client_id: str
    client_secret: str
    cache_seconds: float = 5.0
    max_entries: int = 10_000

    def __repr__(self) -> str:
        return f"Introspection(client_id={self.client_id!r}, client_secret=<redacted>)"


class Introspector:
    def __init__(self, url: str, options: Introspection, timeout: float) -> None:
        self.url = url
        self.options = options
        self.timeout = timeout
        # RFC 6749 §2.3.1: each part form-encoded before joining.
        pair = f"{quote_plus(options.client_id)}:{quote_plus(options.client_secret)}"
        self._authorization = "Basic " + base64.b64encode(pair.encode()).decode()
        self._cache: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()
        # One pooled client for every thread; async callers open their own (a client belongs
        # to one event loop).
        self._http = httpx.Client(timeout=timeout, follow_redirects=False)

    def check(self, token: str) -> dict[str, Any]:
        """What Latchkey says of a live token (``scope`` in force now, ``sub``, ``org``, ``exp``,
        ``client_id`` for an API auth token); raises ``revoked`` for one that is not live."""
        cached = self._cached(token)
        if cached is not None:
            return cached
        try:
            response = self._http.post(self.url, data={"token": token}, headers=self._headers())
        except httpx.HTTPError:
            raise GuardError.unavailable("Latchkey") from None
        return self._answer(token, response)

    async def acheck(self, token: str) -> dict[str, Any]:
        cached = self._cached(token)
        if cached is not None:
            return cached
        async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as http:
            try:
                response = await http.post(self.url, data={"token": token}, headers=self._headers())
            except httpx.HTTPError:
                raise GuardError.unavailable("Latchkey") from None
        return self._answer(token, response)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": self._authorization}

    def _cached(self, token: str) -> dict[str, Any] | None:
        with self._lock:
            hit = self._cache.get(token)
            if hit is None:
                return None
            if time.monotonic() - hit[0] >= self.options.cache_seconds:
                del self._cache[token]
                return None
            return hit[1]

    def _answer(self, token: str, response: httpx.Response) -> dict[str, Any]:
        # Anything but an answer (a refused client, 503, a proxy's page) fails closed.
        if response.status_code != 200:
            raise GuardError.unavailable("Latchkey")
        try:
            body = response.json()
        except ValueError:
            raise GuardError.unavailable("Latchkey") from None
        if not isinstance(body, dict) or body.get("active") is not True:
            # Not cached: a dead token stays dead, and refusing it costs the caller one request.
            raise GuardError.revoked()
        if self.options.cache_seconds > 0:
            with self._lock:
                self._cache[token] = (time.monotonic(), body)
                self._cache.move_to_end(token)
                while len(self._cache) > self.options.max_entries:
                    self._cache.popitem(last=False)
        return body
