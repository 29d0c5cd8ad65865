-- An import counts its refused rows apart from the ones it keeps for its
-- report (the report keeps the first thousand; a file can refuse more), and
-- notes when it last made progress: a "running" import that has not moved
-- for two minutes was cut off (a restart) and is reported as interrupted.
ALTER TABLE user_imports ADD COLUMN failed integer NOT NULL DEFAULT 0;
ALTER TABLE user_imports ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
