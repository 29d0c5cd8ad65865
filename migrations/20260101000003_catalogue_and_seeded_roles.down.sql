DROP FUNCTION IF EXISTS steward_seed_tenant(uuid);
DROP TABLE IF EXISTS role_templates;
DELETE FROM menu_items WHERE parent_key IS NOT NULL;
DELETE FROM menu_items;
DELETE FROM views;
DELETE FROM permissions;
DELETE FROM modules;
