-- The catalogue every tenant shares: modules, permissions (one
-- resource:action key for every action the console offers), views, the menu,
-- and the templates of the system roles seeded into each new tenant.

INSERT INTO modules (key, name, is_core) VALUES
  ('core',      'Overview',             true),
  ('people',    'People and access',    true),
  ('documents', 'Documents',            false),
  ('audit',     'Audit',                false),
  ('platform',  'Platform',             false);

INSERT INTO permissions (key, module_key, description) VALUES
  ('system:admin',          'platform',  'Administer the platform: every tenant, every setting'),
  ('tenant:read',           'platform',  'See tenants and their settings'),
  ('tenant:create',         'platform',  'Create tenants'),
  ('tenant:update',         'platform',  'Change tenant settings, plan and modules'),
  ('tenant:suspend',        'platform',  'Suspend and reactivate tenants'),
  ('tenant:delete',         'platform',  'Delete and restore tenants'),
  ('support:cross_tenant',  'platform',  'Find users across tenants for support'),
  ('user:read',             'people',    'See users'),
  ('user:create',           'people',    'Create and invite users'),
  ('user:update',           'people',    'Edit user profiles'),
  ('user:suspend',          'people',    'Suspend and reactivate users'),
  ('user:delete',           'people',    'Delete and restore users'),
  ('user:reset_password',   'people',    'Reset passwords and unlock accounts'),
  ('user:revoke_sessions',  'people',    'Revoke users'' sessions'),
  ('role:read',             'people',    'See roles and their grants'),
  ('role:manage',           'people',    'Create, edit and delete custom roles'),
  ('role:assign',           'people',    'Grant and remove roles'),
  ('team:read',             'people',    'See teams'),
  ('team:manage',           'people',    'Create, edit and delete teams and their members'),
  ('document:read',         'documents', 'Read documents and their contents'),
  ('document:write',        'documents', 'Upload documents and new versions'),
  ('document:delete',       'documents', 'Delete and restore documents'),
  ('audit:read',            'audit',     'Read the audit log'),
  ('audit:export',          'audit',     'Export the audit log');

INSERT INTO views (key, module_key, path, title) VALUES
  ('overview',  'core',      '/',          'Overview'),
  ('users',     'people',    '/users',     'Users'),
  ('teams',     'people',    '/teams',     'Teams'),
  ('roles',     'people',    '/roles',     'Roles and permissions'),
  ('documents', 'documents', '/documents', 'Documents'),
  ('audit',     'audit',     '/audit',     'Audit log'),
  ('tenants',   'platform',  '/tenants',   'Tenants');

INSERT INTO menu_items (key, parent_key, view_key, label, icon, position) VALUES
  ('workspace',  NULL,         NULL,        'Workspace',         NULL,        10),
  ('people',     NULL,         NULL,        'People and access', NULL,        20),
  ('compliance', NULL,         NULL,        'Compliance',        NULL,        30),
  ('platform',   NULL,         NULL,        'Platform',          NULL,        40),
  ('overview',   'workspace',  'overview',  'Overview',          'home',      10),
  ('documents',  'workspace',  'documents', 'Documents',         'document',  20),
  ('users',      'people',     'users',     'Users',             'user',      10),
  ('teams',      'people',     'teams',     'Teams',             'users',     20),
  ('roles',      'people',     'roles',     'Roles',             'key',       30),
  ('audit',      'compliance', 'audit',     'Audit log',         'list',      10),
  ('tenants',    'platform',   'tenants',   'Tenants',           'building',  10);

CREATE TABLE role_templates (
    system_key  text    NOT NULL,
    tenant_kind text    NOT NULL,
    name        text    NOT NULL,
    description text    NOT NULL,
    position    integer NOT NULL,
    permissions text[]  NOT NULL,
    views       text[]  NOT NULL,
    CONSTRAINT role_templates_pkey PRIMARY KEY (tenant_kind, system_key),
    CONSTRAINT role_templates_kind_check CHECK (tenant_kind IN ('platform', 'customer'))
);
GRANT SELECT ON role_templates TO steward_app;

INSERT INTO role_templates (system_key, tenant_kind, name, description, position, permissions, views) VALUES
  ('owner', 'customer', 'Owner', 'Full control of the organisation, its people, roles and data', 10,
     ARRAY['user:read','user:create','user:update','user:suspend','user:delete','user:reset_password',
           'user:revoke_sessions','role:read','role:manage','role:assign','team:read','team:manage',
           'document:read','document:write','document:delete','audit:read','audit:export'],
     ARRAY['overview','users','teams','roles','documents','audit']),
  ('admin', 'customer', 'Administrator', 'Manages people, teams, roles and documents', 20,
     ARRAY['user:read','user:create','user:update','user:suspend','user:delete','user:reset_password',
           'user:revoke_sessions','role:read','role:manage','role:assign','team:read','team:manage',
           'document:read','document:write','document:delete','audit:read'],
     ARRAY['overview','users','teams','roles','documents','audit']),
  ('manager', 'customer', 'Manager', 'Looks after teams and their documents', 30,
     ARRAY['user:read','team:read','team:manage','role:read','document:read','document:write'],
     ARRAY['overview','users','teams','documents']),
  ('member', 'customer', 'Member', 'Works with the organisation''s documents', 40,
     ARRAY['document:read','document:write'],
     ARRAY['overview','documents']),
  ('auditor', 'customer', 'Auditor', 'Reads everything, changes nothing', 50,
     ARRAY['user:read','role:read','team:read','document:read','audit:read','audit:export'],
     ARRAY['overview','users','teams','roles','documents','audit']),
  ('suspended', 'customer', 'Suspended', 'Read-only access while under review', 60,
     ARRAY['document:read'],
     ARRAY['overview']),
  ('platform_admin', 'platform', 'Platform administrator', 'Runs the platform and every tenant on it', 10,
     ARRAY['system:admin','tenant:read','tenant:create','tenant:update','tenant:suspend','tenant:delete',
           'support:cross_tenant','user:read','user:create','user:update','user:suspend','user:delete',
           'user:reset_password','user:revoke_sessions','role:read','role:manage','role:assign',
           'team:read','team:manage','audit:read','audit:export'],
     ARRAY['overview','tenants','users','teams','roles','audit']),
  ('support', 'platform', 'Support', 'Helps users across tenants; cannot change roles or read documents', 20,
     ARRAY['tenant:read','support:cross_tenant','user:read','user:suspend','user:reset_password',
           'user:revoke_sessions','role:read','team:read'],
     ARRAY['overview','tenants','users']);

-- Seeds the system roles, and the modules of its kind, into a tenant. Runs
-- under the caller's row-level security: the caller sets steward.tenant_id to
-- the tenant first.
CREATE FUNCTION steward_seed_tenant(p_tenant_id uuid)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY INVOKER SET search_path = public, pg_temp AS $$
DECLARE
  v_kind text;
BEGIN
  SELECT t.kind INTO STRICT v_kind FROM tenants t WHERE t.id = p_tenant_id;

  INSERT INTO tenant_modules (tenant_id, module_key)
  SELECT p_tenant_id, m.key FROM modules m
   WHERE NOT m.is_core AND (m.key <> 'platform' OR v_kind = 'platform');

  INSERT INTO roles (tenant_id, system_key, name, description, is_system)
  SELECT p_tenant_id, rt.system_key, rt.name, rt.description, true
    FROM role_templates rt WHERE rt.tenant_kind = v_kind ORDER BY rt.position;

  INSERT INTO role_permissions (tenant_id, role_id, permission_key)
  SELECT p_tenant_id, r.id, unnest(rt.permissions)
    FROM role_templates rt
    JOIN roles r ON r.tenant_id = p_tenant_id AND r.system_key = rt.system_key
   WHERE rt.tenant_kind = v_kind;

  INSERT INTO role_views (tenant_id, role_id, view_key)
  SELECT p_tenant_id, r.id, unnest(rt.views)
    FROM role_templates rt
    JOIN roles r ON r.tenant_id = p_tenant_id AND r.system_key = rt.system_key
   WHERE rt.tenant_kind = v_kind;
END
$$;
GRANT EXECUTE ON FUNCTION steward_seed_tenant(uuid) TO steward_app;
