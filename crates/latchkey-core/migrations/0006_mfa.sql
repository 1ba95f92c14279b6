-- A second factor: one TOTP secret per user (pending until confirmed with a code), its
-- recovery codes (keyed hashes, each single-use), and the short-lived challenges a password
-- login answers with when the account has MFA. `last_step` refuses a TOTP code used before.
CREATE TABLE user_totp (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    enabled_at BIGINT,
    last_step BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE TABLE recovery_codes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT
);
CREATE INDEX recovery_codes_user_id ON recovery_codes (user_id);
CREATE TABLE mfa_challenges (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX mfa_challenges_expires_at ON mfa_challenges (expires_at);
ALTER TABLE login_codes ADD COLUMN mfa_attempts BIGINT NOT NULL DEFAULT 0;
