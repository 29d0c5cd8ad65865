import { Browser, expect, Page } from '@playwright/test';

export const PASSWORD = 'steward-demo-2026';

/** Fails the test on any uncaught error in the page (a broken bundle, say). */
export function watchForPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  return errors;
}

export async function signIn(page: Page, tenant: string, email: string, password = PASSWORD) {
  await page.goto('/login');
  await page.getByLabel('Organisation').fill(tenant);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function expectHydrated(page: Page) {
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

export async function menuEntries(page: Page): Promise<string[]> {
  const sidebar = page.getByTestId('sidebar');
  await expect(sidebar.getByRole('link').first()).toBeVisible();
  return (await sidebar.getByRole('link').allInnerTexts()).map((t) => t.trim());
}

/** On the password page: the current password, then the new one twice. */
export async function chooseNewPassword(page: Page, current: string, next: string) {
  await expectHydrated(page);
  await page.getByLabel('Current password').fill(current);
  await page.getByLabel('New password', { exact: true }).fill(next);
  await page.getByLabel('New password again').fill(next);
  await page.getByTestId('change-password-submit').click();
}

/** The authenticator app's code (RFC 6238: HMAC-SHA1, 30 s, 6 digits) of a base32 secret. */
export function totp(secret: string, offsetSteps = 0): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of secret) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const bytes = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
  const step = Math.floor(Date.now() / 1000 / 30) + offsetSteps;
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const digest = require('crypto').createHmac('sha1', bytes).update(counter).digest();
  const offset = digest[19] & 0xf;
  const value = (digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, '0');
}

/**
 * The text of the newest message to `email` with `subject`, as the
 * platform administrator reads it on the Sent mail screen (the outbox is
 * where mail goes when no SMTP server is configured, as in these tests).
 */
export async function mailTo(browser: Browser, email: string, subject: string): Promise<string> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, 'platform', 'admin@steward.test');
  await expect(page.getByTestId('current-user')).toHaveText('Pat Admin');
  await page.goto(`/mail?to=${encodeURIComponent(email)}`);
  const row = page.getByTestId('mail-row').filter({ hasText: subject }).first();
  await expect(row).toBeVisible();
  const body = (await row.getByTestId('mail-body').textContent()) ?? '';
  await context.close();
  return body;
}

/** The link to choose a password in a message's text. */
export function resetLinkIn(body: string): string {
  const found = body.match(/https?:\/\/\S+\/login\/reset\?link=[0-9a-f]{32}\.[0-9a-f]{64}/);
  expect(found, body).not.toBeNull();
  return found![0];
}

/** The link to accept an invitation in a message's text. */
export function invitationLinkIn(body: string): string {
  const found = body.match(/https?:\/\/\S+\/login\/join\?link=[0-9a-f]{32}\.[0-9a-f]{64}/);
  expect(found, body).not.toBeNull();
  return found![0];
}
