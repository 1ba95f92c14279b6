-- The audit log: who did what to which account, from where. Rows are never updated; a
-- background task deletes those older than the retention. No foreign keys: an event must
-- outlive the user, key or organization it names. `detail` is a small JSON object and never
-- holds a secret (no passwords, codes, tokens or keys; an unknown account is named by the
-- keyed reference the logs use, not by its address).
CREATE TABLE audit_events (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    org_id TEXT,
    actor_kind TEXT NOT NULL,
    actor_id TEXT,
    subject_user_id TEXT,
    event TEXT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    detail TEXT NOT NULL
);

-- An organization's events, newest first, in keyset pages of (at, id).
CREATE INDEX audit_events_org_at ON audit_events (org_id, at DESC, id DESC);
-- Retention deletes by age across organizations.
CREATE INDEX audit_events_at ON audit_events (at);
