"""The small product API the tests protect, once with FastAPI and once with Flask:
``GET /orders`` needs ``orders:read``, ``POST /orders`` needs ``orders:write``."""

from __future__ import annotations

from typing import Any, Protocol

import flask
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from latchkey import Guard, Identity
from latchkey.flask import require_token
from latchkey.starlette import RequireToken, install


class Answer(Protocol):
    status_code: int
    headers: Any

    def json(self) -> Any: ...


class Api(Protocol):
    def call(self, method: str, token: str | None = None, agent: bool = False) -> Answer: ...


def _headers(token: str | None, agent: bool) -> dict[str, str]:
    """A bearer token, or an API auth token in ``X-Authorization: Agent …`` when ``agent``."""
    if not token:
        return {}
    return {"X-Authorization": f"Agent {token}"} if agent else {"Authorization": f"Bearer {token}"}


def fastapi_api(guard: Guard) -> Api:
    app = FastAPI()
    install(app)

    @app.get("/orders")
    async def orders(who: Identity = Depends(RequireToken(guard, ["orders:read"]))) -> dict[str, Any]:
        return {"orders": [], "user": who.user_id, "org": who.org_id, "key": who.key_id}

    @app.post("/orders", status_code=201)
    async def create(who: Identity = Depends(RequireToken(guard, ["orders:write"]))) -> dict[str, Any]:
        return {"created": True}

    client = TestClient(app)

    class Calls:
        def call(self, method: str, token: str | None = None, agent: bool = False) -> Answer:
            return client.request(method, "/orders", headers=_headers(token, agent))

    return Calls()


def flask_api(guard: Guard) -> Api:
    app = flask.Flask("orders")

    @app.get("/orders")
    @require_token(guard, ["orders:read"])
    def orders() -> dict[str, Any]:
        who = flask.g.latchkey
        return {"orders": [], "user": who.user_id, "org": who.org_id, "key": who.key_id}

    @app.post("/orders")
    @require_token(guard, ["orders:write"])
    def create() -> tuple[dict[str, Any], int]:
        return {"created": True}, 201

    client = app.test_client()

    class Calls:
        def call(self, method: str, token: str | None = None, agent: bool = False) -> Answer:
            r = client.open("/orders", method=method, headers=_headers(token, agent))
            return _FlaskAnswer(r)

    return Calls()


class _FlaskAnswer:
    def __init__(self, r: Any) -> None:
        self.status_code = r.status_code
        self.headers = r.headers
        self._r = r

    def json(self) -> Any:
        return self._r.get_json()


FRAMEWORKS = {"fastapi": fastapi_api, "flask": flask_api}
