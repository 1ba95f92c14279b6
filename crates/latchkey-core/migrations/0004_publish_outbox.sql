-- Changes committed to users and API keys whose records the token store has not taken yet.
-- Each row is written in the same transaction as its change and deleted once the record is
-- rewritten, so a change can never stay committed yet unpublished: every instance retries
-- what is left. `owner_id` is the user's organization or the key's user (who may retry it).
CREATE TABLE publish_outbox (
    id TEXT PRIMARY KEY,
    batch TEXT NOT NULL,
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX publish_outbox_batch ON publish_outbox (batch);
CREATE INDEX publish_outbox_target_id ON publish_outbox (target_id);
