"""A real Latchkey server for the tests (the binary cargo built, or target/debug/latchkey), and
the accounts they need."""

from __future__ import annotations

import itertools
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from pathlib import Path
from typing import Any

import httpx
import pytest

PASSWORD = "correct horse battery staple"
_n = itertools.count()


def _binary() -> str:
    built = os.environ.get("LATCHKEY_TEST_SERVER_BIN")
    return built or str(Path(__file__).resolve().parents[3] / "target" / "debug" / "latchkey")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    base: str
    issuer: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]
    _seen: set[str] = field(default_factory=set)

    def cli(self, *args: str) -> str:
        """``latchkey <args>`` on this server's database."""
        out = subprocess.run([_binary(), *args], env=self.env, capture_output=True, text=True, check=False)
        assert out.returncode == 0, f"latchkey {args}: {out.stdout}{out.stderr}"
        return out.stdout

    def call(self, method: str, path: str, *, token: str | None = None, json: Any = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.request(method, f"{self.base}{path}", headers=headers, json=json, timeout=10)

    def signup(self, **extra: Any) -> dict[str, Any]:
        """A fresh account: the sign-up answer (tokens, user, default API key) and its email."""
        email = f"py{os.getpid()}-{time.time_ns()}-{next(_n)}@example.com"
        r = self.call("POST", "/api/v1/auth/signup", json={"email": email, "password": PASSWORD, **extra})
        assert r.status_code == 201, r.text
        return {"email": email, **r.json()}

    def mailed_code(self, email: str) -> str:
        """The newest sign-in code mailed to ``email``, waiting for it."""
        return self.from_mail(email, r"sign-in code is (\d{6})")

    def from_mail(self, email: str, pattern: str) -> str:
        """The first group of ``pattern`` in a mail to ``email`` in the server's development
        outbox (``<data dir>/outbox``: no SMTP server is configured), newest first, each found
        value given out once; waits for the mail."""
        outbox = Path(self.env["LATCHKEY_DATA_DIR"]) / "outbox"
        found: list[str] = []

        def arrived() -> bool:
            for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime_ns, reverse=True):
                mail = message_from_bytes(path.read_bytes(), policy=policy.default)
                match = re.search(pattern, _text(mail)) if email in str(mail["To"]) else None
                if match and match.group(1) not in self._seen:
                    found.append(match.group(1))
                    return True
            return False

        eventually(arrived, what=f"a mail to {email} matching {pattern}")
        self._seen.add(found[0])
        return found[0]

    def login(self, email: str) -> dict[str, Any]:
        r = self.call("POST", "/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return dict(r.json())


def _text(mail: Message) -> str:
    assert isinstance(mail, EmailMessage)
    body = mail.get_body(("plain",))
    return str(body.get_content()) if body is not None else ""


def start_server(extra_env: dict[str, str] | None = None) -> tuple[Server, str]:
    port = _free_port()
    data = tempfile.mkdtemp(prefix="latchkey-py-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("LATCHKEY_") and k != "RUST_LOG"}
    env.update(
        LATCHKEY_DATA_DIR=data,
        LATCHKEY_ARGON2_MEMORY_KIB="4096",
        LATCHKEY_ARGON2_ITERATIONS="1",
        LATCHKEY_LOG_LEVEL="warn",
        LATCHKEY_SCOPES="orders:read orders:write",
        LATCHKEY_DEFAULT_SCOPES="orders:read",
        **(extra_env or {}),
    )
    process = subprocess.Popen(
        [_binary(), "serve"],
        env={**env, "LATCHKEY_BIND": f"127.0.0.1:{port}"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"latchkey exited: {process.stderr.read().decode() if process.stderr else ''}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass  # not listening yet
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("latchkey did not become healthy")
        time.sleep(0.05)
    issuer = httpx.get(f"{base}/.well-known/oauth-authorization-server").json()["issuer"]
    return Server(base, issuer, env, process), data


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    srv, data = start_server()
    yield srv
    srv.process.kill()
    srv.process.wait()
    shutil.rmtree(data, ignore_errors=True)


@dataclass
class Org:
    """An organization as a product runs it: its founder, an operator (from the command line,
    in another organization), and the product's resource server, a member whose sign-up API key
    may introspect."""

    founder: dict[str, Any]
    operator_token: str
    introspect_id: str
    introspect_key: str
    member: Callable[[], dict[str, Any]]


@pytest.fixture(scope="session")
def org(server: Server) -> Org:
    founder = server.signup()
    ops = server.signup()
    server.cli("users", "operator", ops["email"])
    code = server.call("GET", "/api/v1/org", token=founder["access_token"]).json()["referral_code"]
    rs = server.signup(referral_code=code)
    r = server.call(
        "PUT",
        f"/api/v1/admin/users/{rs['user']['user_id']}/scopes",
        token=ops["access_token"],
        json={"scopes": ["latchkey:introspect"]},
    )
    assert r.status_code == 200, r.text
    return Org(
        founder=founder,
        operator_token=ops["access_token"],
        introspect_id=rs["api_key"]["id"],
        introspect_key=rs["api_key"]["key"],
        member=lambda: server.signup(referral_code=code),
    )


def eventually(check: Callable[[], bool], seconds: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


class Counted:
    """An ``httpx.Client`` that counts what it sends, by ``METHOD /path``."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.client = httpx.Client(timeout=10, event_hooks={"request": [self._count]})

    def _count(self, request: httpx.Request) -> None:
        self.counts[f"{request.method} {request.url.path}"] += 1
