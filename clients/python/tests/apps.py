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
    def call(self, method: str, token: str | None = None) -> Answer: ...


def fastapi_api(guard: Guard) -> Api:
    app = FastAPI()
    install(app)

    @app.get("/orders")
    async def orders(who: Identity = Depends(RequireToken(guard, ["orders:read"]))) -> dict[str, Any]:
        return {"orders": [], "user": who.user_id, "org": who.org_id}

    @app.post("/orders", status_code=201)
    async def create(who: Identity = Depends(RequireToken(guard, ["orders:write"]))) -> dict[str, Any]:
        return {"created": True}

    client = TestClient(app)

    class Calls:
        def call(self, method: str, token: str | None = None) -> Answer:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return client.request(method, "/orders", headers=headers)

    return Calls()


def flask_api(guard: Guard) -> Api:
    app = flask.Flask("orders")

    @app.get("/orders")
    @require_token(guard, ["orders:read"])
    def orders() -> dict[str, Any]:
        return {"orders": [], "user": flask.g.latchkey.user_id, "org": flask.g.latchkey.org_id}

    @app.post("/orders")
    @require_token(guard, ["orders:write"])
    def create() -> tuple[dict[str, Any], int]:
        return {"created": True}, 201

    client = app.test_client()

    class Calls:
        def call(self, method: str, token: str | None = None) -> Answer:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            r = client.open("/orders", method=method, headers=headers)
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
