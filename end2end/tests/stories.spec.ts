import { expect, Page, test } from '@playwright/test';
import { expectHydrated, invitationLinkIn, mailTo, menuEntries, resetLinkIn, signIn, watchForPageErrors, chooseNewPassword } from './helpers';

// One story per kind of person who uses Steward, through the real pages.

async function newPage(browser: import('@playwright/test').Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

test('the platform administrator creates a tenant and its owner, who then signs in', async ({ browser }) => {
  const admin = await newPage(browser);
  const errors = watchForPageErrors(admin);
  await signIn(admin, 'platform', 'admin@steward.test');
  await expect(admin.getByTestId('current-user')).toHaveText('Pat Admin');
  await admin.getByTestId('sidebar').getByRole('link', { name: 'Tenants' }).click();
  await expect(admin.getByTestId('tenant-table')).toBeVisible();
  await admin.getByTestId('new-tenant').click();
  await expect(admin).toHaveURL(/\/tenants\/new$/);
  await expectHydrated(admin);

  const form = admin.getByTestId('new-tenant-form');
  // A bad short name is refused beside its field, and what was typed stays.
  await form.getByLabel('Organisation name').fill('Initech');
  await form.getByLabel('Short name').fill('Not A Slug!');
  await form.getByLabel("Owner's name").fill('Bill Lumbergh');
  await form.getByLabel("Owner's email").fill('bill@initech.test');
  await admin.getByTestId('create-tenant').click();
  await expect(admin.getByTestId('slug-error')).not.toBeEmpty();
  await expect(form.getByLabel("Owner's email")).toHaveValue('bill@initech.test');

  await form.getByLabel('Short name').fill('initech');
  await admin.getByTestId('create-tenant').click();
  const password = (await admin.getByTestId('temporary-password').innerText()).trim();
  expect(password.length).toBeGreaterThanOrEqual(16);

  await admin.goto('/tenants?q=initech');
  await expect(admin.getByTestId('tenant-row')).toHaveCount(1);
  await expect(admin.getByTestId('tenant-row')).toContainText('Initech');
  // The refused short name is a 422 the browser logs; nothing else went wrong.
  expect(errors.filter((e) => !e.includes('status of 422'))).toEqual([]);

  const owner = await newPage(browser);
  const ownerErrors = watchForPageErrors(owner);
  await signIn(owner, 'initech', 'bill@initech.test', password);
  // A temporary password: first choose one's own.
  await expect(owner).toHaveURL(/\/account\/password\?next=/);
  await expect(owner.getByTestId('must-change')).toBeVisible();
  await chooseNewPassword(owner, password, 'violet tractor anthem');
  await expect(owner).toHaveURL(/\/$/);
  await expect(owner.getByTestId('current-user')).toHaveText('Bill Lumbergh');
  expect(ownerErrors).toEqual([]);
  await expect(owner.getByTestId('current-tenant')).toHaveText('Initech');
  expect(await menuEntries(owner)).toEqual(['Overview', 'Documents', 'Settings', 'Users', 'Teams', 'Roles', 'Audit log']);
});

test('the owner makes a team and a custom role with a view; the member sees it on their next page load', async ({ browser }) => {
  const owner = await newPage(browser);
  const errors = watchForPageErrors(owner);
  await signIn(owner, 'acme', 'olivia@acme.test');
  await expect(owner.getByTestId('current-user')).toHaveText('Olivia Owner');

  // A new member, with a password of the owner's choosing.
  await owner.goto('/users/new');
  await expectHydrated(owner);
  const userForm = owner.getByTestId('new-user-form');
  await userForm.getByLabel('Name').fill('Nina Night');
  await userForm.getByLabel('Email').fill('nina@acme.test');
  await userForm.getByLabel('Password').fill('harbour-lantern-2026');
  await userForm.getByLabel('Role').selectOption({ label: 'Member' });
  await owner.getByTestId('create-user').click();
  await expect(owner.getByTestId('open-new-user')).toBeVisible();

  const member = await newPage(browser);
  await signIn(member, 'acme', 'nina@acme.test', 'harbour-lantern-2026');
  await expect(member.getByTestId('current-user')).toHaveText('Nina Night');
  expect(await menuEntries(member)).toEqual(['Overview', 'Documents']);

  // The team, with Nina in it.
  await owner.goto('/teams');
  await expectHydrated(owner);
  await owner.getByTestId('new-team-form').getByLabel('Name').fill('Night shift');
  await owner.getByTestId('create-team').click();
  await owner.getByRole('link', { name: 'Night shift' }).click();
  await expect(owner.getByRole('heading', { level: 1 })).toHaveText('Night shift');
  await expectHydrated(owner);
  await owner.getByTestId('add-member-form').getByLabel('Add a member').selectOption({ label: 'Nina Night (nina@acme.test)' });
  await owner.getByTestId('add-member-form').getByRole('button', { name: 'Add' }).click();
  await expect(owner.getByTestId('team-members')).toContainText('Nina Night');

  // The custom role: the Teams view and the permission to read teams.
  await owner.goto('/roles');
  await expectHydrated(owner);
  await owner.getByTestId('new-role-link').click();
  await expect(owner).toHaveURL(/\/roles\/new$/);
  await expectHydrated(owner);
  const roleForm = owner.getByTestId('new-role-form');
  await roleForm.getByLabel('Name', { exact: true }).fill('Team viewers');
  await roleForm.getByLabel('Description').fill('Sees who is in which team');
  await roleForm.locator('#view-teams').check();
  await roleForm.locator('#perm-team-read').check();
  await owner.getByTestId('create-role').click();
  await expect(owner).toHaveURL(/\/roles\/[0-9a-f-]{36}$/);
  await expect(owner.getByRole('heading', { level: 1 })).toHaveText('Team viewers');
  await expect(owner.locator('#view-teams')).toBeChecked();
  await expect(owner.locator('#perm-team-read')).toBeChecked();
  await expect(owner.locator('#perm-user-read')).not.toBeChecked();

  // Given to the team, so Nina holds it through the team.
  await owner.goto('/teams');
  await owner.getByRole('link', { name: 'Night shift' }).click();
  await expectHydrated(owner);
  await owner.getByTestId('grant-team-role-form').getByLabel('Grant a role').selectOption({ label: 'Team viewers' });
  await owner.getByTestId('grant-team-role-form').getByRole('button', { name: 'Grant' }).click();
  await expect(owner.getByTestId('team-roles')).toContainText('Team viewers');

  await member.reload();
  expect(await menuEntries(member)).toEqual(['Overview', 'Documents', 'Teams']);
  await member.getByTestId('sidebar').getByRole('link', { name: 'Teams' }).click();
  await expect(member.getByTestId('team-table')).toContainText('Night shift');

  // The role's page says who holds it and how; explain access agrees.
  await owner.goto('/roles');
  await owner.getByRole('link', { name: 'Team viewers' }).click();
  await expect(owner.getByTestId('role-holders')).toContainText('Nina Night');
  await expect(owner.getByTestId('role-holders')).toContainText('through team Night shift');
  await owner.goto('/roles/explain?email=nina%40acme.test&view=teams');
  await expect(owner.getByTestId('verdict')).toHaveText('Allowed');
  await expect(owner.getByTestId('explain-summary')).toContainText('role Team viewers through team Night shift');
  expect(errors).toEqual([]);
});

test('support finds a user of another tenant, acts inside it with a reason, may not take over a user who holds more, and the owner resets the password', async ({ browser }) => {
  const support = await newPage(browser);
  const errors = watchForPageErrors(support);
  await signIn(support, 'platform', 'support@steward.test');
  await expect(support.getByTestId('current-user')).toHaveText('Sam Support');
  await support.goto('/users/find?q=max%40globex');
  await expectHydrated(support);
  const hit = support.getByTestId('find-hit');
  await expect(hit).toHaveCount(1);
  await expect(hit).toContainText('Max Member');
  // Acting inside another tenant asks why, and says for how long.
  await hit.getByText('Open', { exact: true }).click();
  await hit.getByTestId('act-reason').fill('ticket 4711: Max cannot sign in');
  await hit.getByTestId('act-inside').click();

  await expect(support).toHaveURL(/\/users\/[0-9a-f-]{36}$/);
  const maxPage = new URL(support.url()).pathname;
  await expect(support.getByTestId('acting-banner')).toContainText('Globex');
  await expect(support.getByTestId('acting-banner')).toContainText('ticket 4711: Max cannot sign in');
  await expect(support.getByTestId('acting-time-left')).toContainText('Access ends in');
  await expect(support.getByRole('heading', { level: 1 })).toHaveText('Max Member');
  await expectHydrated(support);
  // Support staff look after accounts, not access: no role controls.
  await expect(support.getByTestId('user-roles')).toContainText('Member');
  await expect(support.getByTestId('assign-role-form')).toHaveCount(0);
  await expect(support.getByTestId('user-roles').getByRole('button')).toHaveCount(0);

  // Max reads documents and support does not: the reset is refused, and
  // the sentence says why, beside the button.
  await support.getByText('Reset password', { exact: true }).click();
  await support.getByTestId('confirm-reset-password').click();
  await expect(support.getByText('You cannot reset the password of Max Member: they hold permissions you do not')).toBeVisible();
  await expect(support.getByTestId('temporary-password')).toHaveCount(0);

  await support.getByTestId('stop-acting').click();
  await expect(support.getByTestId('acting-banner')).toHaveCount(0);
  expect(errors.filter((e) => !e.includes('status of 403'))).toEqual([]);

  // Globex's owner holds all Max holds, and resets his password.
  const gina = await newPage(browser);
  await signIn(gina, 'globex', 'gina@globex.test');
  await expect(gina.getByTestId('current-user')).toHaveText('Gina Owner');
  await gina.goto(maxPage);
  await expectHydrated(gina);
  await gina.getByText('Reset password', { exact: true }).click();
  await gina.getByTestId('confirm-reset-password').click();
  const password = (await gina.getByTestId('temporary-password').innerText()).trim();
  expect(password.length).toBeGreaterThanOrEqual(16);

  // The new password works for Max, who then chooses his own.
  const max = await newPage(browser);
  await signIn(max, 'globex', 'max@globex.test', password);
  await expect(max.getByTestId('current-user')).toHaveText('Max Member');
  await expect(max).toHaveURL(/\/account\/password\?next=/);
  await chooseNewPassword(max, password, 'marble orchard lantern');
  await expect(max).toHaveURL(/\/$/);
});

test('the platform administrator acts inside a tenant from the list: the reason is asked once, and Enter in it acts inside no one', async ({ browser }) => {
  const admin = await newPage(browser);
  const errors = watchForPageErrors(admin);
  const posted: string[] = [];
  admin.on('request', (r) => {
    if (r.url().includes('/api/act_in_tenant')) posted.push(r.postData() ?? '');
  });
  await signIn(admin, 'platform', 'admin@steward.test');
  await expect(admin.getByTestId('current-user')).toHaveText('Pat Admin');
  await admin.goto('/tenants');
  await expectHydrated(admin);
  const reason = admin.getByTestId('act-inside-form').getByLabel('Reason for acting inside');
  await expect(reason).toHaveCount(1);

  // No reason yet: the browser asks for one, and nothing is sent.
  await admin.getByRole('button', { name: 'Act inside globex' }).click();
  await expect(reason).toBeFocused();
  await expect(admin).toHaveURL(/\/tenants$/);
  expect(posted).toHaveLength(0);

  // Enter in the reason field chooses no tenant (the first row's button
  // would otherwise be the form's default); the row's button does.
  await reason.fill('ticket 77: billing question');
  await reason.press('Enter');
  await admin.getByRole('button', { name: 'Act inside globex' }).click();
  await expect(admin).toHaveURL(/\/$/);
  await expect(admin.getByTestId('acting-banner')).toContainText('Globex');
  await expect(admin.getByTestId('acting-banner')).toContainText('ticket 77: billing question');
  expect(posted).toHaveLength(1);
  expect(posted[0]).toContain('slug=globex');

  await admin.getByTestId('stop-acting').click();
  await expect(admin.getByTestId('acting-banner')).toHaveCount(0);
  await expect(admin).toHaveURL(/\/tenants$/);
  expect(errors).toEqual([]);
});

test('an import of a CSV with bad rows creates the good ones and reports the bad ones', async ({ page }) => {
  const errors = watchForPageErrors(page);
  await signIn(page, 'acme', 'olivia@acme.test');
  await expect(page.getByTestId('current-user')).toHaveText('Olivia Owner');
  await page.goto('/users');
  await page.getByTestId('import-users').click();
  await expect(page).toHaveURL(/\/users\/import$/);
  await expectHydrated(page);
  const csv = [
    'email,name,role',
    'ivy@acme.test,Ivy Imported,Member',
    'not-an-email,Broken Address,',
    'olivia@acme.test,Olivia Again,',
    'jon@acme.test,Jon Imported,No Such Role',
    'kim@acme.test,Kim Imported,',
  ].join('\n');
  await page.getByLabel('CSV file').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await page.getByTestId('start-import').click();

  await expect(page).toHaveURL(/\/users\/imports\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('import-report')).toHaveAttribute('data-state', 'done', { timeout: 15_000 });
  await expect(page.getByTestId('import-summary')).toHaveText('Finished: 2 created, 3 refused.');
  const failures = page.getByTestId('import-failure');
  await expect(failures).toHaveCount(3);
  await expect(failures.nth(0)).toContainText('3');
  await expect(failures.nth(0)).toContainText('does not look like an email');
  await expect(failures.nth(1)).toContainText('already used in this organisation');
  await expect(failures.nth(2)).toContainText('There is no role named No Such Role.');

  await page.goto('/users?q=imported');
  await expect(page.getByTestId('user-row')).toHaveCount(2);
  await expect(page.getByTestId('user-table')).toContainText('ivy@acme.test');
  await expect(page.getByTestId('user-table')).toContainText('kim@acme.test');
  expect(errors).toEqual([]);
});

test('a forgotten password is recovered with the link from the mail, once, and the person is told', async ({ browser }) => {
  const page = await newPage(browser);
  const errors = watchForPageErrors(page);
  await page.goto('/login');
  await page.getByTestId('forgot-link').click();
  await expect(page).toHaveURL(/\/login\/forgot$/);
  await expectHydrated(page);
  await page.getByLabel('Organisation').fill('acme');
  await page.getByLabel('Email').fill('maya@acme.test');
  await page.getByTestId('forgot-submit').click();
  await expect(page.getByTestId('link-sent')).toContainText('If that address has an account in that organisation');

  const link = resetLinkIn(await mailTo(browser, 'maya@acme.test', 'Choose a new password'));
  await page.goto(link);
  await expectHydrated(page);
  await page.getByLabel('New password', { exact: true }).fill('short');
  await page.getByLabel('New password again').fill('short');
  await page.getByTestId('reset-submit').click();
  await expect(page.getByText('at least 12 characters', { exact: false }).first()).toBeVisible();
  await page.getByLabel('New password', { exact: true }).fill('quiet harbour compass');
  await page.getByLabel('New password again').fill('quiet harbour compass');
  await page.getByTestId('reset-submit').click();
  await expect(page).toHaveURL(/\/login\?password=changed$/);
  await expect(page.getByTestId('password-changed')).toBeVisible();
  await signIn(page, 'acme', 'maya@acme.test', 'quiet harbour compass');
  await expect(page.getByTestId('current-user')).toHaveText('Maya Manager');

  // The link worked once; Maya was told her password changed.
  await page.goto(link);
  await expect(page.getByTestId('link-broken')).toContainText('This link does not work');
  expect(await mailTo(browser, 'maya@acme.test', 'Your password was changed')).toContain('set with a reset link');
  expect(errors.filter((e) => !e.includes('status of 422'))).toEqual([]);
});

test("an owner sends a reset link from a person's page, and only the person's mail holds it", async ({ browser }) => {
  const olivia = await newPage(browser);
  const errors = watchForPageErrors(olivia);
  await signIn(olivia, 'acme', 'olivia@acme.test');
  await expect(olivia.getByTestId('current-user')).toHaveText('Olivia Owner');
  await olivia.goto('/users?q=mark%40acme');
  await olivia.getByTestId('user-row').first().getByRole('link').first().click();
  await expect(olivia.getByRole('heading', { level: 1 })).toHaveText('Mark Member');
  await expectHydrated(olivia);
  await olivia.getByTestId('send-reset-link').click();
  await expect(olivia.getByText('A link to choose a password was sent to this person')).toBeVisible();
  await expect(olivia.getByTestId('temporary-password')).toHaveCount(0);
  expect(errors).toEqual([]);

  const body = await mailTo(browser, 'mark@acme.test', 'A link to choose your password');
  expect(body).toContain('Olivia Owner sent you a link to choose a new password for your account at Acme');
  resetLinkIn(body);
});

test('an owner invites someone with a role and a team; they accept by choosing a password and sign in', async ({ browser }) => {
  const olivia = await newPage(browser);
  const errors = watchForPageErrors(olivia);
  await signIn(olivia, 'acme', 'olivia@acme.test');
  await expect(olivia.getByTestId('current-user')).toHaveText('Olivia Owner');
  await olivia.getByTestId('sidebar').getByRole('link', { name: 'Users' }).click();
  await olivia.getByTestId('invite-user').click();
  await expect(olivia).toHaveURL(/\/users\/invite$/);
  await expectHydrated(olivia);
  await olivia.getByLabel('Name').fill('Nora Newcomer');
  await olivia.getByLabel('Email').fill('nora@acme.test');
  await olivia.getByLabel('Role').selectOption({ label: 'Member' });
  await olivia.getByTestId('send-invitation').click();
  await expect(olivia.getByTestId('invitation-sent')).toContainText('works once, for 7 days');
  await olivia.getByTestId('open-invited-user').click();
  await expect(olivia.getByRole('heading', { level: 1 })).toHaveText('Nora Newcomer');
  await expect(olivia.getByTestId('invitation')).toContainText('by Olivia Owner');

  // Nora's mail, then the link in a browser of her own.
  const body = await mailTo(browser, 'nora@acme.test', 'Olivia Owner invited you to Acme');
  expect(body).toContain('Olivia Owner invited you to join Acme');
  const nora = await newPage(browser);
  const noraErrors = watchForPageErrors(nora);
  await nora.goto(invitationLinkIn(body));
  await expectHydrated(nora);
  await expect(nora.getByTestId('link-heading')).toHaveText('Join Acme Corporation');
  await expect(nora.getByTestId('link-for')).toContainText('nora@acme.test');
  await nora.getByLabel('New password', { exact: true }).fill('quiet harbour lantern 7');
  await nora.getByLabel('New password again').fill('quiet harbour lantern 7');
  await nora.getByTestId('reset-submit').click();
  await expect(nora).toHaveURL(/\/login\?joined=1$/);
  await expect(nora.getByTestId('invitation-accepted')).toBeVisible();
  await expect(nora.getByLabel('Organisation')).toHaveValue('acme');
  await expect(nora.getByLabel('Email')).toHaveValue('nora@acme.test');
  await nora.getByLabel('Password').fill('quiet harbour lantern 7');
  await nora.getByRole('button', { name: 'Sign in' }).click();
  await expect(nora.getByTestId('current-user')).toHaveText('Nora Newcomer');
  expect(await menuEntries(nora)).toEqual(['Overview', 'Documents']);

  // Olivia sees her active now.
  await olivia.reload();
  await expect(olivia.getByTestId('invitation')).toHaveCount(0);
  await expect(olivia.getByText('active', { exact: true }).first()).toBeVisible();
  expect(errors).toEqual([]);
  expect(noraErrors).toEqual([]);
});

test('an owner suspends three people at once from the users list', async ({ browser }) => {
  const olivia = await newPage(browser);
  const errors = watchForPageErrors(olivia);
  await signIn(olivia, 'acme', 'olivia@acme.test');
  await expect(olivia.getByTestId('current-user')).toHaveText('Olivia Owner');
  for (const n of ['One', 'Two', 'Three']) {
    const r = await olivia.request.post('/api/create_user', {
      form: { email: `bulkjs.${n.toLowerCase()}@acme.test`, display_name: `Bulkjs ${n}`, password: 'steward-demo-2026' },
      headers: { Accept: 'application/json' },
    });
    expect(r.ok()).toBeTruthy();
  }
  await olivia.goto('/users?q=bulkjs');
  await expectHydrated(olivia);
  await expect(olivia.getByTestId('user-row')).toHaveCount(3);
  for (const box of await olivia.getByTestId('bulk-select').all()) {
    await box.check();
  }
  await olivia.getByLabel('With the people ticked').selectOption({ label: 'Suspend' });
  await olivia.getByTestId('bulk-apply').click();
  await expect(olivia.getByTestId('bulk-report')).toContainText('3 suspended.');
  await expect(olivia.getByTestId('user-row').filter({ hasText: 'suspended' })).toHaveCount(3);
  expect(errors).toEqual([]);
});

test("an owner changes the organisation's brand colour, and its sign-in page shows it", async ({ browser }) => {
  const olivia = await newPage(browser);
  const errors = watchForPageErrors(olivia);
  await signIn(olivia, 'acme', 'olivia@acme.test');
  await expect(olivia.getByTestId('current-user')).toHaveText('Olivia Owner');
  await olivia.getByTestId('nav-settings').click();
  await expect(olivia).toHaveURL(/\/settings$/);
  await expectHydrated(olivia);
  await expect(olivia.getByTestId('plan-name')).toHaveText('Standard');
  await olivia.getByLabel('Brand colour').fill('#0f766e');
  await olivia.getByTestId('save-organisation').click();
  await expect(olivia.getByTestId('organisation-settings').getByTestId('notice')).toHaveText('Saved.');
  // The top bar takes the colour on the next page.
  await olivia.goto('/');
  await expect(olivia.getByTestId('brand-mark').first()).toHaveCSS('background-color', 'rgb(15, 118, 110)');
  await olivia.getByTestId('sign-out').click();
  await expect(olivia).toHaveURL(/\/login/);
  const brand = olivia.getByTestId('sign-in-brand');
  await expect(brand.getByTestId('sign-in-organisation')).toHaveText('Acme Corporation');
  await expect(brand.getByTestId('brand-mark')).toHaveCSS('background-color', 'rgb(15, 118, 110)');
  await expect(brand.getByTestId('brand-mark')).toHaveCSS('color', 'rgb(255, 255, 255)');
  await expect(olivia.getByLabel('Organisation')).toHaveValue('acme');
  // Another browser, never signed in there, is shown no organisation.
  const stranger = await newPage(browser);
  await stranger.goto('/login');
  await expect(stranger.getByTestId('sign-in-form')).toBeVisible();
  await expect(stranger.getByTestId('sign-in-brand')).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('an owner sends the audit log to a webhook: the secret is shown once; the endpoint is paused, resumed and deleted', async ({ browser }) => {
  const olivia = await newPage(browser);
  const errors = watchForPageErrors(olivia);
  await signIn(olivia, 'acme', 'olivia@acme.test');
  await expect(olivia.getByTestId('current-user')).toHaveText('Olivia Owner');
  await olivia.goto('/settings');
  await expectHydrated(olivia);
  await olivia.getByTestId('manage-webhooks').click();
  await expect(olivia).toHaveURL(/\/settings\/webhooks$/);
  await expectHydrated(olivia);
  // A destination on this machine is refused beside its field; what was typed stays.
  await olivia.getByLabel('Address').fill('https://127.0.0.1/hook');
  await olivia.getByLabel('Events').fill('team.*, user.suspend');
  await olivia.getByTestId('create-webhook').click();
  await expect(olivia.locator('#url-error')).toContainText('not a public address');
  await expect(olivia.getByLabel('Events')).toHaveValue('team.*, user.suspend');
  await olivia.getByLabel('Address').fill('https://hooks.example.com/steward');
  await olivia.getByTestId('create-webhook').click();
  await expect(olivia.getByTestId('webhook-secret')).toHaveText(/^whsec_[0-9a-f]{64}$/);
  const row = olivia.getByTestId('webhook-row').filter({ hasText: 'https://hooks.example.com/steward' });
  await expect(row.getByTestId('webhook-state')).toHaveText('active');
  await row.getByTestId('pause-webhook').click();
  await expect(row.getByTestId('webhook-state')).toHaveText('paused');
  await row.getByTestId('resume-webhook').click();
  await expect(row.getByTestId('webhook-state')).toHaveText('active');
  // Its own page: where it goes, and its deliveries (none: no team changed).
  await row.getByRole('link', { name: 'https://hooks.example.com/steward' }).click();
  await expect(olivia.getByTestId('webhook-url')).toHaveText('https://hooks.example.com/steward');
  await expect(olivia.getByTestId('webhook')).toContainText('team.* user.suspend');
  await olivia.getByRole('link', { name: 'All endpoints' }).click();
  await expect(olivia).toHaveURL(/\/settings\/webhooks$/);
  // The secret is not shown again.
  await expect(olivia.getByTestId('webhook-secret')).toHaveCount(0);
  await row.getByTestId('delete-webhook').click();
  await expect(row).toHaveCount(0);
  // The refused address is a 422 the browser logs; nothing else went wrong.
  expect(errors.filter((e) => !e.includes('status of 422'))).toEqual([]);
});
