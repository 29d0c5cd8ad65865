import { expect, test } from '@playwright/test';
import { expectHydrated, menuEntries, signIn, watchForPageErrors } from './helpers';

test('an owner signs in, sees the menu, moves around and signs out', async ({ page }) => {
  const errors = watchForPageErrors(page);
  await page.goto('/');
  await expect(page).toHaveURL(/\/login$/);
  await expectHydrated(page);

  await signIn(page, 'acme', 'olivia@acme.test');
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('current-user')).toHaveText('Olivia Owner');
  await expect(page.getByTestId('current-tenant')).toHaveText('Acme Corporation');
  expect(await menuEntries(page)).toEqual(['Overview', 'Documents', 'Settings', 'Users', 'Teams', 'Roles', 'Audit log']);
  await expectHydrated(page);

  // Client-side navigation through the hydrated menu.
  await page.getByTestId('sidebar').getByRole('link', { name: 'Users' }).click();
  await expect(page).toHaveURL(/\/users$/);
  await expect(page.getByTestId('user-table')).toBeVisible();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Users');

  await page.getByTestId('sign-out').click();
  await expect(page).toHaveURL(/\/login$/);
  await page.goto('/users');
  await expect(page).toHaveURL(/\/login\?next=\/users$/);
  expect(errors).toEqual([]);
});

test('two users with different roles see different menus', async ({ browser }) => {
  const owner = await (await browser.newContext()).newPage();
  await signIn(owner, 'globex', 'gina@globex.test');
  await expect(owner.getByTestId('current-user')).toHaveText('Gina Owner');
  expect(await menuEntries(owner)).toEqual(['Overview', 'Documents', 'Settings', 'Users', 'Teams', 'Roles', 'Audit log']);

  const member = await (await browser.newContext()).newPage();
  await signIn(member, 'globex', 'max@globex.test');
  await expect(member.getByTestId('current-user')).toHaveText('Max Member');
  expect(await menuEntries(member)).toEqual(['Overview', 'Documents']);

  const admin = await (await browser.newContext()).newPage();
  await signIn(admin, 'platform', 'admin@steward.test');
  await expect(admin.getByTestId('current-user')).toHaveText('Pat Admin');
  expect(await menuEntries(admin)).toEqual(['Overview', 'Settings', 'Users', 'Teams', 'Roles', 'Audit log', 'Tenants', 'Access log', 'Sent mail', 'System']);
});

test('a wrong password shows the one generic message and keeps what was typed', async ({ page }) => {
  await page.goto('/login');
  await expectHydrated(page);
  await signIn(page, 'acme', 'olivia@acme.test', 'not-the-password');
  const alert = page.getByTestId('sign-in-error');
  await expect(alert).toContainText('Those details did not match an active account');
  await expect(page).toHaveURL(/\/login/);
  await expect(page.getByLabel('Organisation')).toHaveValue('acme');
  await expect(page.getByLabel('Email')).toHaveValue('olivia@acme.test');

  // An unknown organisation gets exactly the same words.
  await signIn(page, 'initech', 'olivia@acme.test');
  await expect(page.getByTestId('sign-in-error')).toHaveText(await alert.innerText());
});

test('a member opening a view their roles do not grant gets a 403 page', async ({ page }) => {
  await signIn(page, 'acme', 'mark@acme.test');
  await expect(page.getByTestId('current-user')).toHaveText('Mark Member');
  const response = await page.goto('/users');
  expect(response?.status()).toBe(403);
  await expect(page.getByTestId('forbidden')).toContainText('You cannot open Users');
  await expect(page.getByTestId('sidebar')).toBeVisible();
});

test('at phone width (390 px) the menu opens from the top bar and takes you to a view', async ({ page }) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signIn(page, 'acme', 'olivia@acme.test');
  await expect(page).toHaveURL(/\/$/);
  await expectHydrated(page);
  // The wide sidebar is hidden; the top bar's menu stands in for it.
  await expect(page.getByTestId('sidebar')).toBeHidden();
  const menu = page.getByTestId('narrow-menu');
  await expect(menu.getByTestId('narrow-nav-users')).toBeHidden();
  await menu.getByText('Menu').click();
  const entries = (await menu.getByRole('link').allInnerTexts()).map((t) => t.trim());
  expect(entries).toEqual(['Overview', 'Documents', 'Settings', 'Users', 'Teams', 'Roles', 'Audit log']);
  await menu.getByTestId('narrow-nav-users').click();
  await expect(page).toHaveURL(/\/users$/);
  await expect(page.getByTestId('user-table')).toBeVisible();
  // Moving on closes the menu, and nothing is wider than the screen.
  await expect(menu.getByTestId('narrow-nav-users')).toBeHidden();
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
});
