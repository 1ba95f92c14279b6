"""Flask: a decorator that lets a request in with the right scopes, the caller in ``g.latchkey``.

    @app.get("/orders")
    @require_token(guard, ["orders:read"])
    def orders(): return {"user": g.latchkey.user_id}
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import g, jsonify, request

from .errors import GuardError
from .guard import Guard, request_token

F = TypeVar("F", bound=Callable[..., Any])


def require_token(guard: Guard, scopes: Sequence[str] = ()) -> Callable[[F], F]:
    required = tuple(scopes)

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                token = request_token(request.headers.get("Authorization"), request.headers.get("X-Authorization"))
                g.latchkey = guard.authorize(token, required)
            except GuardError as e:
                return jsonify(e.body()), e.status, e.headers()
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate
