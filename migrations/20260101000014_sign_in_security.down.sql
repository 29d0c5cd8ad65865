ALTER TABLE users DROP COLUMN must_change_password, DROP COLUMN password_changed_at;
DROP FUNCTION steward_sign_in_throttle_prune();
DROP FUNCTION steward_sign_in_unlock(uuid);
DROP FUNCTION steward_sign_in_lock_state(uuid);
DROP FUNCTION steward_sign_in_success(text, text);
DROP FUNCTION steward_sign_in_failure(text, integer, interval, interval, interval);
DROP FUNCTION steward_sign_in_blocked_until(text[]);
DROP FUNCTION steward_sign_in_account_key(text, text);
DROP TABLE sign_in_throttle;
