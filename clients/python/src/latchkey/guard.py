"""Verifies Latchkey access tokens in your own service: offline against the JWKS, and optionally
online through introspection so that a logout is refused at once."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import jwt

from .errors import GuardError
from .introspect import Introspection, Introspector
from .jwks import KeySet


@dataclass(frozen=True)
class Identity:
    """The caller of a protected route."""

    user_id: str
    session_id: str
    org_id: str
    role: str
    scopes: tuple[str, ...]
    expires_at: int
    """The token's ``exp``, in seconds since the epoch."""
    claims: dict[str, Any] = field(repr=False, compare=False)
    """Every claim, as verified (or as introspection said, for an API auth token)."""
    key_id: str | None = None
    """The API key of an API auth token (``lkt_…``); None for a person's session. Such a caller
    has no session and no role."""

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class Guard:
    """Verifies Latchkey access tokens. Share one per process: it caches the keys.

    ``issuer`` is Latchkey's ``LATCHKEY_ISSUER``; ``audience`` its ``LATCHKEY_AUDIENCE`` (the
    issuer unless set). A token naming an unknown key fetches the JWKS again, at most once per
    ``refetch_interval`` seconds, so a flood of forged key ids cannot become a flood of requests
    to Latchkey. With ``introspection`` every token is also checked at ``POST /oauth2/introspect``
    (answers cached ``cache_seconds``), and the scopes are those in force now.
    """

    def __init__(
        self,
        issuer: str,
        *,
        audience: str | None = None,
        jwks_url: str | None = None,
        latchkey_url: str | None = None,
        refetch_interval: float = 10.0,
        leeway: float = 5.0,
        introspection: Introspection | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience or self.issuer
        self.leeway = leeway
        base = (latchkey_url or self.issuer).rstrip("/")
        self._keys = KeySet(jwks_url or f"{self.issuer}/.well-known/jwks.json", refetch_interval, timeout)
        self._introspector = Introspector(f"{base}/oauth2/introspect", introspection, timeout) if introspection else None

    @property
    def jwks_fetches(self) -> int:
        """How many times the JWKS was fetched (for monitoring and tests)."""
        return self._keys.fetches

    def verify(self, token: str | None) -> Identity:
        """Verifies ``token`` (and introspects it when configured); raises :class:`GuardError`."""
        if not token:
            raise GuardError.missing_token()
        if token.startswith(API_TOKEN_PREFIX):
            return _api_identity(self._api_introspector().check(token))
        kid = _kid(token)
        claims = self._decode(token, self._keys.get(kid))
        info = self._introspector.check(token) if self._introspector else None
        return _identity(claims, info)

    async def averify(self, token: str | None) -> Identity:
        """:meth:`verify` for async code: fetches without blocking the event loop."""
        if not token:
            raise GuardError.missing_token()
        if token.startswith(API_TOKEN_PREFIX):
            return _api_identity(await self._api_introspector().acheck(token))
        kid = _kid(token)
        claims = self._decode(token, await self._keys.aget(kid))
        info = await self._introspector.acheck(token) if self._introspector else None
        return _identity(claims, info)

    def authorize(self, token: str | None, scopes: tuple[str, ...] | list[str] = ()) -> Identity:
        """:meth:`verify`, then every scope must be held (403 naming the first one missing)."""
        return _require(self.verify(token), scopes)

    async def aauthorize(self, token: str | None, scopes: tuple[str, ...] | list[str] = ()) -> Identity:
        return _require(await self.averify(token), scopes)

    def _api_introspector(self) -> Introspector:
        # API auth tokens are opaque: only Latchkey can say what they are.
        if self._introspector is None:
            raise GuardError.invalid_token("an API auth token needs introspection (configure `introspection`)")
        return self._introspector

    def _decode(self, token: str, key: Any) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                # Only what Latchkey signs: refuses `alg: none` and HMAC keyed with the public key.
                algorithms=["EdDSA"],
                issuer=self.issuer,
                audience=self.audience,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
            return claims
        except jwt.ExpiredSignatureError:
            raise GuardError.expired() from None
        except (jwt.InvalidIssuerError, jwt.InvalidAudienceError):
            raise GuardError.invalid_token("wrong issuer or audience") from None
        except jwt.InvalidSignatureError:
            raise GuardError.invalid_token("bad signature") from None
        except jwt.InvalidTokenError:
            raise GuardError.invalid_token("malformed") from None


API_TOKEN_PREFIX = "lkt_"
_BEARER = re.compile(r"^\s*bearer\s+(\S+)\s*$", re.IGNORECASE)
_AGENT = re.compile(r"^\s*agent\s+(\S+)\s*$", re.IGNORECASE)


def bearer_token(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer …`` header value, or None."""
    match = _BEARER.match(header or "")
    return match.group(1) if match else None


def request_token(authorization: str | None, x_authorization: str | None = None) -> str | None:
    """The credential of a request: ``Authorization: Bearer <token>``, or the API clients' form
    ``X-Authorization: Agent <auth token>``."""
    bearer = bearer_token(authorization)
    if bearer:
        return bearer
    match = _AGENT.match(x_authorization or "")
    return match.group(1) if match else None


def _kid(token: str) -> str:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise GuardError.invalid_token("malformed") from None
    if header.get("alg") != "EdDSA":
        raise GuardError.invalid_token("wrong algorithm")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise GuardError.invalid_token("no key id")
    return kid


def _identity(claims: dict[str, Any], info: dict[str, Any] | None) -> Identity:
    # With introspection, the scopes in force now: one taken away since signing is gone.
    scope = info.get("scope", "") if info is not None else claims.get("scope", "")
    return Identity(
        user_id=str(claims["sub"]),
        session_id=str(claims.get("sid", "")),
        org_id=str(claims.get("org", "")),
        role=str(claims.get("role", "")),
        scopes=tuple(str(scope).split()),
        expires_at=int(claims["exp"]),
        claims=claims,
    )


def _api_identity(info: dict[str, Any]) -> Identity:
    return Identity(
        user_id=str(info.get("sub", "")),
        session_id="",
        org_id=str(info.get("org", "")),
        role="",
        scopes=tuple(str(info.get("scope", "")).split()),
        expires_at=int(info.get("exp", 0)),
        claims=info,
        key_id=str(info.get("client_id", "")),
    )


def _require(identity: Identity, scopes: tuple[str, ...] | list[str]) -> Identity:
    for scope in scopes:
        if not identity.has_scope(scope):
            raise GuardError.insufficient_scope(scope)
    return identity


__all__ = ["Guard", "Identity", "Introspection", "bearer_token", "request_token"]
