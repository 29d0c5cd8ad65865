ALTER TABLE users DROP COLUMN theme;
DROP FUNCTION steward_sign_in_place_is_new(text, text, text);
ALTER TABLE tenants DROP COLUMN notify_new_place;
DROP FUNCTION steward_brand_logo(uuid);
DROP FUNCTION steward_brand(uuid);
DROP TABLE tenant_logos;
DROP TRIGGER documents_count_deleted ON documents;
DROP FUNCTION steward_document_bytes_moved();
DROP TRIGGER document_versions_count_inserted ON document_versions;
DROP FUNCTION steward_bytes_inserted();
DROP TRIGGER users_count_removed ON users;
DROP TRIGGER users_count_deleted ON users;
DROP FUNCTION steward_people_moved();
DROP TRIGGER users_count_inserted ON users;
DROP FUNCTION steward_people_inserted();
DROP FUNCTION steward_lock_usage();
DROP FUNCTION steward_add_usage(uuid, bigint, bigint);
DROP TABLE tenant_usage;
ALTER TABLE tenants DROP CONSTRAINT tenants_plan_fkey;
DROP TABLE plans;
DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenants LOOP
    PERFORM set_config('steward.tenant_id', t::text, true);
    DELETE FROM role_views WHERE tenant_id = t AND view_key = 'settings';
    DELETE FROM role_permissions WHERE tenant_id = t AND permission_key = 'settings:manage';
  END LOOP;
  PERFORM set_config('steward.tenant_id', '', true);
END
$$;
UPDATE role_templates SET permissions = array_remove(permissions, 'settings:manage'), views = array_remove(views, 'settings');
DELETE FROM menu_items WHERE key = 'settings';
DELETE FROM views WHERE key = 'settings';
DELETE FROM permissions WHERE key = 'settings:manage';
