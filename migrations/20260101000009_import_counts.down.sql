ALTER TABLE user_imports DROP COLUMN failed;
