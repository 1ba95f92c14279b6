-- Operators run the deployment (signing keys), unlike organization admins, who run one
-- organization. Granted only from the server's command line (`latchkey users operator`); NULL
-- means not an operator. Read from here on every operator request, never cached, so a revoke
-- takes effect at once.
ALTER TABLE users ADD COLUMN operator_since BIGINT;
