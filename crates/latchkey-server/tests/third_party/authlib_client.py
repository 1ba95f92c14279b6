"""Drives Latchkey's OAuth 2.0 endpoints with Authlib, a maintained third-party client.

Usage: authlib_client.py BASE_URL EMAIL PASSWORD KEY_ID API_KEY
Exits non-zero (with a traceback) on the first behaviour that differs from what a standard
client expects. Run by the Rust test `oauth::third_party`.
"""
import sys

import requests
from authlib.integrations.requests_client import OAuth2Session, OAuthError

base, email, password, key_id, api_key = sys.argv[1:6]

meta = requests.get(base + "/.well-known/oauth-authorization-server", timeout=10).json()
token_url = meta["token_endpoint"].replace(meta["issuer"], base)
revoke_url = meta["revocation_endpoint"].replace(meta["issuer"], base)
introspect_url = meta["introspection_endpoint"].replace(meta["issuer"], base)

# A public client (a mobile app): password grant, then refresh, without client authentication.
app = OAuth2Session(client_id="mobile-app", token_endpoint_auth_method="none")
token = app.fetch_token(token_url, grant_type="password", username=email, password=password,
                        scope="orders:read")
assert token["token_type"] == "Bearer", token
assert token["scope"] == "orders:read", token
me = app.get(base + "/api/v1/me", timeout=10)
assert me.status_code == 200, me.text
refreshed = app.refresh_token(token_url, refresh_token=token["refresh_token"])
assert refreshed["refresh_token"] != token["refresh_token"], "the refresh token rotates"
assert app.get(base + "/api/v1/me", timeout=10).status_code == 200
print("password and refresh_token grants: ok")

# A wrong password surfaces as the standard error.
try:
    OAuth2Session(client_id="mobile-app", token_endpoint_auth_method="none").fetch_token(
        token_url, grant_type="password", username=email, password="not the password at all")
    raise AssertionError("a wrong password was accepted")
except OAuthError as e:
    assert e.error == "invalid_grant", e.error
print("invalid_grant: ok")

# A confidential client: an API key, authenticated with HTTP Basic and with the form.
for method in ("client_secret_basic", "client_secret_post"):
    service = OAuth2Session(client_id=key_id, client_secret=api_key,
                            token_endpoint_auth_method=method)
    cc = service.fetch_token(token_url, grant_type="client_credentials")
    assert cc["access_token"].startswith("lkt_"), cc
    assert service.get(base + "/api/v1/me", timeout=10).status_code == 200
print("client_credentials (basic, post): ok")

bad = OAuth2Session(client_id=key_id, client_secret="lk_" + key_id + "_" + "x" * 43,
                    token_endpoint_auth_method="client_secret_basic")
try:
    bad.fetch_token(token_url, grant_type="client_credentials")
    raise AssertionError("a wrong client secret was accepted")
except OAuthError as e:
    assert e.error == "invalid_client", e.error
print("invalid_client: ok")

# A resource server introspects, then the app revokes; introspection then says inactive.
rs = OAuth2Session(client_id=key_id, client_secret=api_key,
                   token_endpoint_auth_method="client_secret_basic")
info = rs.introspect_token(introspect_url, token=refreshed["access_token"]).json()
assert info["active"] is True and info["scope"] == "orders:read", info  # the grant stays narrowed
r = app.revoke_token(revoke_url, token=refreshed["refresh_token"],
                     token_type_hint="refresh_token")
assert r.status_code == 200, r.text
info = rs.introspect_token(introspect_url, token=refreshed["access_token"]).json()
assert info == {"active": False}, info
print("introspection and revocation: ok")
print("authlib: all checks passed")
