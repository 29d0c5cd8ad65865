-- Sessions live in PostgreSQL (tower-sessions' PostgreSQL store), so they
-- survive a restart of steward and any number of app servers can share them.
-- Created here, by the migration role, rather than by the store at start-up:
-- the application role may not create tables.
CREATE SCHEMA tower_sessions;
CREATE TABLE tower_sessions.session (
    id          text        NOT NULL,
    data        bytea       NOT NULL,
    expiry_date timestamptz NOT NULL,
    CONSTRAINT session_pkey PRIMARY KEY (id)
);
CREATE INDEX session_expiry_idx ON tower_sessions.session (expiry_date);
GRANT USAGE ON SCHEMA tower_sessions TO steward_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON tower_sessions.session TO steward_app;
