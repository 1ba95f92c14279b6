-- Password-reset tokens sent by mail: stored as the SHA-256 of the token (256 random bits),
-- single-use, short-lived.
CREATE TABLE password_resets (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_resets_expires_at ON password_resets (expires_at);
