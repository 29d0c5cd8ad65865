ALTER TABLE user_imports DROP COLUMN updated_at;
ALTER TABLE user_imports DROP COLUMN failed;
