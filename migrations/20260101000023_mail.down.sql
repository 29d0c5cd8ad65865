DO $$
DECLARE t uuid;
BEGIN
  FOR t IN SELECT id FROM tenants WHERE kind = 'platform' LOOP
    PERFORM set_config('steward.tenant_id', t::text, true);
    DELETE FROM role_views WHERE tenant_id = t AND view_key = 'sent_mail';
  END LOOP;
  PERFORM set_config('steward.tenant_id', '', true);
END
$$;
UPDATE role_templates SET views = array_remove(views, 'sent_mail') WHERE system_key = 'platform_admin';
DELETE FROM menu_items WHERE key = 'sent_mail';
DELETE FROM views WHERE key = 'sent_mail';
DROP TABLE mail_outbox;
