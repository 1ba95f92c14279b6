"""Latchkey for Python: :class:`LatchkeyClient` keeps a person signed in, :class:`ApiKeyClient`
keeps a script or worker authenticated with its API key, and :class:`Guard` verifies access
tokens in your own service (``latchkey.starlette`` for FastAPI and Starlette, ``latchkey.flask``
for Flask)."""

from .api_key import ApiKeyClient
from .client import LatchkeyClient, MemoryStore, MfaRequired, SignedIn, TokenStore
from .errors import GuardError, LatchkeyError
from .guard import Guard, Identity, bearer_token, request_token
from .introspect import Introspection

__all__ = [
    "ApiKeyClient",
    "Guard",
    "GuardError",
    "Identity",
    "Introspection",
    "LatchkeyClient",
    "LatchkeyError",
    "MemoryStore",
    "MfaRequired",
    "SignedIn",
    "TokenStore",
    "bearer_token",
    "request_token",
]
