"""For scripts and workers: an API key exchanged at ``/get-token`` for an auth token."""

from __future__ import annotations

import threading
from typing import Any

import httpx

from .errors import LatchkeyError


class ApiKeyClient:
    """Exchanges the API key (``lk_…``, sent to ``/get-token`` only) for an auth token, sends it
    as ``X-Authorization: Agent <token>``, and on a ``401`` fetches a new one once and retries
    once. Concurrent callers that saw the same token refused share one exchange."""

    def __init__(self, base_url: str, api_key: str, *, http: httpx.Client | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.http = http if http is not None else httpx.Client(timeout=10.0)
        self._token: str | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ApiKeyClient({self.base_url!r}, api_key=<redacted>)"

    def set_api_key(self, api_key: str) -> None:
        """Uses a new key (after a rotation). The current auth token is kept while the server
        accepts it (a rotation with an overlap); the next exchange uses the new key."""
        with self._lock:
            self._api_key = api_key

    def token(self) -> str:
        """The current auth token, exchanging the key when there is none."""
        return self._token or self._renew(None)

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        target = f"{self.base_url}{url}" if url.startswith("/") else url
        used = self.token()
        response = self._send(method, target, used, kwargs)
        if response.status_code != 401:
            return response
        return self._send(method, target, self._renew(used), kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def _renew(self, used: str | None) -> str:
        with self._lock:
            if self._token and self._token != used:
                return self._token
            try:
                response = self.http.post(f"{self.base_url}/get-token", json={"api_key": self._api_key})
            except httpx.HTTPError as e:
                raise LatchkeyError(0, "network_error", f"could not reach the server: {e}") from None
            if response.status_code != 200:
                self._token = None
                raise LatchkeyError.from_response(response)
            self._token = str(response.json()["data"]["auth_token"])
            return self._token

    def _send(self, method: str, url: str, token: str, kwargs: dict[str, Any]) -> httpx.Response:
        headers = dict(kwargs.get("headers") or {})
        headers["X-Authorization"] = f"Agent {token}"
        return self.http.request(method, url, **{**kwargs, "headers": headers})
