DROP FUNCTION steward_api_key_lookup(uuid, text);
DROP TABLE api_keys;
