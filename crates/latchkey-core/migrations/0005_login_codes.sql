-- One-time sign-in codes sent by mail. The code is stored as an HMAC under a server key (six
-- digits would fall to a brute force of a plain hash); `attempts` is raised in the same
-- statement that reads the hash, so parallel guesses cannot exceed the limit.
CREATE TABLE login_codes (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX login_codes_expires_at ON login_codes (expires_at);
