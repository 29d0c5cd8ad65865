DROP TRIGGER users_counts_delete ON users;
DROP TRIGGER users_counts_update ON users;
DROP TRIGGER users_counts_insert ON users;
DROP FUNCTION steward_user_counts_move();
DROP TABLE user_counts;
