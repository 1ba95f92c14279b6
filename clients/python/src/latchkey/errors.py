"""What the client raises and what the guard answers, in Latchkey's error shape."""

from __future__ import annotations

from typing import Any


class LatchkeyError(Exception):
    """A refused call. ``error`` is the server's code (``invalid_credentials``, …) or one of the
    client's own: ``not_signed_in`` (no session to use), ``session_expired`` (the server refused
    the refresh token), ``network_error`` (the server could not be reached)."""

    def __init__(self, status: int, error: str, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.data = data if data is not None else {}

    @classmethod
    def from_response(cls, response: Any) -> LatchkeyError:
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            # Not the documented shape (a proxy's page, say): keep the status.
            return cls(response.status_code, f"http_{response.status_code}", response.reason_phrase or "request failed")
        return cls(
            response.status_code,
            str(body.get("error", f"http_{response.status_code}")),
            str(body.get("message", "request failed")),
            body.get("data", {}),
        )

    def __repr__(self) -> str:
        return f"LatchkeyError({self.status}, {self.error!r}, {self.message!r})"


class GuardError(Exception):
    """Why the guard refused a request: 401, 403 or 503 with Latchkey's code."""

    def __init__(self, status: int, error: str, message: str, scope: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.scope = scope

    def body(self) -> dict[str, Any]:
        """The JSON body, as Latchkey answers."""
        return {"status": "failed", "code": self.status, "error": self.error, "message": self.message, "data": {}}

    def headers(self) -> dict[str, str]:
        """A ``WWW-Authenticate`` challenge on 401 and 403 (without ``error`` when no credential
        was sent, as RFC 6750 asks); ``Retry-After`` on 503."""
        if self.status == 503:
            return {"Retry-After": "1"}
        if self.error == "missing_token":
            return {"WWW-Authenticate": 'Bearer realm="api"'}
        scope = f', scope="{self.scope}"' if self.scope else ""
        return {"WWW-Authenticate": f'Bearer realm="api", error="{self.error}"{scope}'}

    @staticmethod
    def missing_token() -> GuardError:
        return GuardError(401, "missing_token", "an access token is required")

    @staticmethod
    def invalid_token(why: str) -> GuardError:
        return GuardError(401, "invalid_token", f"the token is invalid: {why}")

    @staticmethod
    def expired() -> GuardError:
        return GuardError(401, "invalid_token", "the token has expired")

    @staticmethod
    def revoked() -> GuardError:
        return GuardError(401, "invalid_token", "the session has ended")

    @staticmethod
    def insufficient_scope(scope: str) -> GuardError:
        return GuardError(403, "insufficient_scope", f"the token lacks the scope {scope}", scope=scope)

    @staticmethod
    def unavailable(what: str) -> GuardError:
        return GuardError(503, "service_unavailable", f"{what} cannot be reached now")
