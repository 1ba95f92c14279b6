-- People who sign in through Google, Microsoft or another OpenID provider, keyed on what the
-- provider guarantees to be stable (`sub`, or `tid:oid` for Microsoft), never on an email.
CREATE TABLE external_identities (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email TEXT,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX external_identities_user_id ON external_identities (user_id);

-- One-time codes handed to the app after a provider sign-in (only their hash is kept).
-- `payload` says who signed in, or what a sign-up still needs.
CREATE TABLE login_handoffs (
    code_hash TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    code_challenge TEXT,
    expires_at BIGINT NOT NULL
);
