-- When the person last proved a credential in this session (a password, a second factor or
-- a mailed code at POST /auth/reauthenticate). NULL: only the sign-in that opened it, so
-- `COALESCE(reauth_at, created_at)` is the session's last proof. Sensitive changes need it
-- to be recent.
ALTER TABLE sessions ADD COLUMN reauth_at BIGINT;
