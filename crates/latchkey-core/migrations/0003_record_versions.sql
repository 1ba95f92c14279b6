-- Bumped by every change to a user or to any of their API keys. The records derived from a
-- user (theirs and their keys') carry it, and the token store keeps the newest: two changes
-- published at the same moment cannot leave the older one in force.
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
