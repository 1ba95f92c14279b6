-- One schema for PostgreSQL and SQLite: only types and syntax both speak (TEXT, BIGINT,
-- UNIQUE, REFERENCES). Ids are UUID strings; times are milliseconds since the Unix epoch.

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    referral_code TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    email TEXT NOT NULL,
    -- lower-cased: makes the address unique case-insensitively on both backends
    email_normalized TEXT NOT NULL UNIQUE,
    name TEXT,
    phone TEXT,
    -- NULL for accounts that only sign in another way (social, passwordless)
    password_hash TEXT,
    role TEXT NOT NULL,
    -- space-separated scope names
    scopes TEXT NOT NULL,
    disabled_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX users_org_id ON users (org_id);

-- One per login on a device.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    -- when the current refresh token expires
    expires_at BIGINT NOT NULL,
    user_agent TEXT,
    ip TEXT,
    revoked_at BIGINT,
    revoke_reason TEXT
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_revoked_at ON sessions (revoked_at);

-- The rotation chain of a session. Only hashes are kept; each row also keeps the claims of the
-- access token issued with it, so a replay inside the grace can re-sign the same token.
CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    generation BIGINT NOT NULL,
    parent_id TEXT,
    access_claims TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    -- set with used_at: the token this one was rotated into (a replay reads it by key)
    child_id TEXT
);
CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);

-- Expired access tokens already exchanged by the lenient refresh (once per jti).
CREATE TABLE lenient_refreshes (
    jti TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    used_at BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    algorithm TEXT NOT NULL,
    private_key TEXT NOT NULL,
    public_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);

CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
