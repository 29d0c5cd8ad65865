DROP TRIGGER users_by_status_delete ON users;
DROP TRIGGER users_by_status_update ON users;
DROP TRIGGER users_by_status_insert ON users;
DROP FUNCTION steward_user_counts_move();
DROP TABLE user_counts;
