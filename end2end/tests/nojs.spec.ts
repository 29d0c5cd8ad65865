import { expect, test } from '@playwright/test';
import { invitationLinkIn, mailTo, menuEntries, resetLinkIn, signIn } from './helpers';

// The same flows with JavaScript disabled: forms post to the server
// functions and redirect back, pages render complete on the server.

test('without JavaScript: sign in, see the menu, open a view, sign out', async ({ page }) => {
  await page.goto('/users');
  await expect(page).toHaveURL(/\/login\?next=\/users$/);
  await page.getByLabel('Organisation').fill('acme');
  await page.getByLabel('Email').fill('olivia@acme.test');
  await page.getByLabel('Password').fill('steward-demo-2026');
  await page.getByRole('button', { name: 'Sign in' }).click();

  await expect(page).toHaveURL(/\/users$/);
  await expect(page.getByTestId('user-table')).toBeVisible();
  await expect(page.getByTestId('current-user')).toHaveText('Olivia Owner');
  expect(await menuEntries(page)).toEqual(['Overview', 'Documents', 'Settings', 'Users', 'Teams', 'Roles', 'Audit log']);
  await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');

  await page.getByTestId('sidebar').getByRole('link', { name: 'Teams' }).click();
  await expect(page).toHaveURL(/\/teams$/);

  await page.getByTestId('sign-out').click();
  await expect(page).toHaveURL(/\/login$/);
});

test('without JavaScript: a failed sign-in shows the message and keeps organisation and email', async ({ page }) => {
  await signIn(page, 'acme', 'olivia@acme.test', 'not-the-password');
  await expect(page.getByTestId('sign-in-error')).toContainText('Those details did not match an active account');
  await expect(page.getByLabel('Organisation')).toHaveValue('acme');
  await expect(page.getByLabel('Email')).toHaveValue('olivia@acme.test');
  await expect(page.getByLabel('Password')).toHaveValue('');
});

test('without JavaScript at phone width (390 px): the menu is a disclosure that works', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, 'acme', 'olivia@acme.test');
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('sidebar')).toBeHidden();
  const menu = page.getByTestId('narrow-menu');
  await menu.getByText('Menu').click();
  await menu.getByTestId('narrow-nav-teams').click();
  await expect(page).toHaveURL(/\/teams$/);
  await expect(page.getByTestId('sign-out')).toBeVisible();
});

test('without JavaScript: a person forgets their password and chooses a new one with the mailed link', async ({ browser, page }) => {
  // Olivia adds Quinn, who has a password of her own.
  await signIn(page, 'acme', 'olivia@acme.test');
  await page.goto('/users/new');
  await page.getByLabel('Name').fill('Quinn Forgetful');
  await page.getByLabel('Email').fill('quinn@acme.test');
  await page.getByLabel('Password').fill('amber first passphrase');
  await page.getByTestId('create-user').click();
  await expect(page.getByTestId('notice').or(page.getByTestId('open-new-user'))).toBeVisible();
  await page.getByTestId('sign-out').click();

  // An address with no account gets the same answer as one with an account.
  await page.goto('/login');
  await page.getByTestId('forgot-link').click();
  await page.getByLabel('Organisation').fill('acme');
  await page.getByLabel('Email').fill('nobody@acme.test');
  await page.getByTestId('forgot-submit').click();
  const answer = await page.getByTestId('link-sent').innerText();
  await page.goto('/login/forgot');
  await page.getByLabel('Organisation').fill('acme');
  await page.getByLabel('Email').fill('quinn@acme.test');
  await page.getByTestId('forgot-submit').click();
  await expect(page.getByTestId('link-sent')).toHaveText(answer);

  const link = resetLinkIn(await mailTo(browser, 'quinn@acme.test', 'Choose a new password'));
  await page.goto(link);
  await page.getByLabel('New password', { exact: true }).fill('amber second passphrase');
  await page.getByLabel('New password again').fill('not the same at all');
  await page.getByTestId('reset-submit').click();
  await expect(page.getByText('This does not match the new password.')).toBeVisible();
  await page.getByLabel('New password', { exact: true }).fill('amber second passphrase');
  await page.getByLabel('New password again').fill('amber second passphrase');
  await page.getByTestId('reset-submit').click();
  await expect(page.getByTestId('password-changed')).toBeVisible();
  await signIn(page, 'acme', 'quinn@acme.test', 'amber second passphrase');
  await expect(page.getByTestId('current-user')).toHaveText('Quinn Forgetful');
});

test('without JavaScript: an owner invites someone, who accepts with the mailed link and signs in', async ({ browser, page }) => {
  await signIn(page, 'acme', 'olivia@acme.test');
  await page.goto('/users/invite');
  await page.getByLabel('Name').fill('Ines Invited');
  await page.getByLabel('Email').fill('ines@acme.test');
  await page.getByTestId('send-invitation').click();
  await expect(page.getByText('Invitation sent to ines@acme.test. It works for 7 days.')).toBeVisible();
  await page.goto('/users?status=pending&q=ines');
  await expect(page.getByTestId('user-row')).toHaveCount(1);
  await page.getByTestId('sign-out').click();

  // Pending: no sign-in yet.
  await signIn(page, 'acme', 'ines@acme.test', 'amber guess passphrase');
  await expect(page.getByTestId('sign-in-error')).toBeVisible();

  const link = invitationLinkIn(await mailTo(browser, 'ines@acme.test', 'invited you to Acme'));
  await page.goto(link);
  await expect(page.getByTestId('link-heading')).toHaveText('Join Acme Corporation');
  await page.getByLabel('New password', { exact: true }).fill('short');
  await page.getByLabel('New password again').fill('short');
  await page.getByTestId('reset-submit').click();
  await expect(page.getByText('at least 12 characters', { exact: false }).first()).toBeVisible();
  await page.getByLabel('New password', { exact: true }).fill('amber quiet lantern 88');
  await page.getByLabel('New password again').fill('amber quiet lantern 88');
  await page.getByTestId('reset-submit').click();
  await expect(page.getByTestId('invitation-accepted')).toBeVisible();
  await signIn(page, 'acme', 'ines@acme.test', 'amber quiet lantern 88');
  await expect(page.getByTestId('current-user')).toHaveText('Ines Invited');
});

test('without JavaScript: an owner suspends everyone a filter matches, and is told what was done', async ({ page }) => {
  await signIn(page, 'acme', 'olivia@acme.test');
  for (const n of ['one', 'two', 'three']) {
    const r = await page.request.post('/api/create_user', {
      form: { email: `bulknojs.${n}@acme.test`, display_name: `Bulknojs ${n}`, password: 'steward-demo-2026' },
      headers: { Accept: 'application/json' },
    });
    expect(r.ok()).toBeTruthy();
  }
  await page.goto('/users?q=bulknojs');
  await expect(page.getByTestId('user-row')).toHaveCount(3);
  await page.getByLabel('With the people ticked').selectOption({ label: 'Suspend' });
  await page.getByTestId('bulk-all').check();
  await page.getByTestId('bulk-apply').click();
  await expect(page.getByText('3 suspended.')).toBeVisible();
  await expect(page.getByTestId('user-row').filter({ hasText: 'suspended' })).toHaveCount(3);
});

test("without JavaScript: an owner changes the brand colour, and the organisation's sign-in page shows it", async ({ page }) => {
  await signIn(page, 'globex', 'gina@globex.test');
  await page.goto('/settings');
  await page.getByLabel('Brand colour').fill('#b45309');
  await page.getByTestId('save-organisation').click();
  await expect(page.getByText('Organisation saved.')).toBeVisible();
  await expect(page.getByLabel('Brand colour')).toHaveValue('#b45309');
  await page.getByTestId('sign-out').click();
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByTestId('sign-in-organisation')).toHaveText('Globex');
  await expect(page.getByTestId('sign-in-brand').getByTestId('brand-mark')).toHaveCSS('background-color', 'rgb(180, 83, 9)');
});

test('without JavaScript: a person chooses the dark theme, and the next page arrives dark', async ({ page }) => {
  await signIn(page, 'acme', 'mark@acme.test');
  await expect(page.getByTestId('current-user')).toHaveText('Mark Member');
  await page.goto('/account/appearance');
  await page.getByTestId('theme-dark').check();
  await page.getByTestId('save-theme').click();
  await expect(page.getByText('Appearance saved.')).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('data-theme', 'dark');
  await expect(page.getByTestId('theme-dark')).toBeChecked();
});

test('without JavaScript: the platform administrator gives a reason and acts inside a tenant from its row', async ({ page }) => {
  await signIn(page, 'platform', 'admin@steward.test');
  await expect(page.getByTestId('current-user')).toHaveText('Pat Admin');
  await page.goto('/tenants');
  await page.getByTestId('act-inside-form').getByLabel('Reason for acting inside').fill('ticket 78: without scripts');
  await page.getByRole('button', { name: 'Act inside globex' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('acting-banner')).toContainText('Globex');
  await expect(page.getByTestId('acting-banner')).toContainText('ticket 78: without scripts');
  await page.getByTestId('stop-acting').click();
  await expect(page.getByTestId('acting-banner')).toHaveCount(0);
});
