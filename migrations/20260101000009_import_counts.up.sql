-- An import counts its refused rows apart from the ones it keeps for its
-- report (the report keeps the first thousand; a file can refuse more).
ALTER TABLE user_imports ADD COLUMN failed integer NOT NULL DEFAULT 0;
