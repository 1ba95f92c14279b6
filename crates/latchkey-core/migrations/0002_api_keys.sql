-- API keys: `lk_<id>_<secret>`. Only the secret's hash is kept; the id is public (it is the
-- visible prefix). `scopes` NULL means the key follows its owner's scopes.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    -- bumped by every rotation; tokens carry the generation that minted them
    generation BIGINT NOT NULL,
    -- the replaced secret, still accepted until previous_until (rotation overlap)
    previous_hash TEXT,
    previous_until BIGINT,
    scopes TEXT,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    expires_at BIGINT,
    rotated_at BIGINT
);
CREATE INDEX api_keys_user_id ON api_keys (user_id);
