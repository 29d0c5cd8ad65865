DROP FUNCTION IF EXISTS steward_explain_access(uuid, uuid, text, text);
