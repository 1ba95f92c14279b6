-- Whether the user proved their address (a verification link, or a sign-in code), and the
-- verification tokens mailed at sign-up (SHA-256 of 256 random bits, single-use).
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
CREATE TABLE email_verifications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX email_verifications_expires_at ON email_verifications (expires_at);
