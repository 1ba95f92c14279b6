"""FastAPI and Starlette: a dependency that answers with the caller, and the handler that turns
a refusal into Latchkey's error shape.

    app = FastAPI()
    install(app)
    @app.get("/orders")
    async def orders(who: Identity = Depends(RequireToken(guard, ["orders:read"]))): ...
"""


from collections.abc import Sequence
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from .errors import GuardError
from .guard import Guard, Identity, request_token


class RequireToken:
    """A FastAPI dependency (``Depends(RequireToken(guard, scopes))``), usable from any Starlette
    endpoint as ``await RequireToken(...)(request)``. The caller is also ``request.state.latchkey``."""

    def __init__(self, guard: Guard, scopes: Sequence[str] = ()) -> None:
        self.guard = guard
        self.scopes = tuple(scopes)

    async def __call__(self, request: Request) -> Identity:
        token = request_token(request.headers.get("authorization"), request.headers.get("x-authorization"))
        identity = await self.guard.aauthorize(token, self.scopes)
        request.state.latchkey = identity
        return identity


async def guard_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    """Answers a :class:`GuardError` as Latchkey does (status, body, ``WWW-Authenticate``)."""
    assert isinstance(exc, GuardError)
    return JSONResponse(exc.body(), status_code=exc.status, headers=exc.headers())


def install(app: Any) -> None:
    """Registers :func:`guard_error_handler` on a FastAPI or Starlette app."""
    app.add_exception_handler(GuardError, guard_error_handler)
