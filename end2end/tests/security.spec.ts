import { expect, test } from '@playwright/test';
import { PASSWORD, expectHydrated, signIn, totp, watchForPageErrors } from './helpers';

// Two-factor sign-in in the real browser, under the real Content-Security-Policy
// (a refused inline script would show as a console error).

test('a member sets up an authenticator app, keeps the recovery codes, and signs in with a code', async ({ browser }) => {
  const page = await (await browser.newContext()).newPage();
  const errors = watchForPageErrors(page);
  await signIn(page, 'acme', 'audrey@acme.test');
  await expect(page.getByTestId('current-user')).toHaveText('Audrey Auditor');
  await page.getByTestId('account-link').click();
  await expect(page.getByTestId('account-tabs')).toBeVisible();
  await page.getByTestId('account-tabs').getByRole('link', { name: 'Two-factor sign-in' }).click();
  await expectHydrated(page);
  await page.getByLabel('Your password').fill(PASSWORD);
  await page.getByTestId('mfa-start').click();
  await expect(page.getByTestId('mfa-qr').locator('svg')).toBeVisible();
  const secret = (await page.getByTestId('mfa-secret').innerText()).trim();
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  await page.getByLabel('Code').fill(totp(secret));
  await page.getByTestId('mfa-confirm').click();
  await expect(page.getByTestId('recovery-code')).toHaveCount(10);
  expect(errors).toEqual([]);

  // A new browser: the password, then the code (the next one: each is good once).
  const again = await (await browser.newContext()).newPage();
  const againErrors = watchForPageErrors(again);
  await signIn(again, 'acme', 'audrey@acme.test');
  await expect(again).toHaveURL(/\/login\/code/);
  await expectHydrated(again);
  await again.getByLabel('Code').fill('000000');
  await again.getByTestId('mfa-submit').click();
  await expect(again.getByTestId('code-error')).toContainText('not right');
  await again.getByLabel('Code').fill(totp(secret, 1));
  await again.getByTestId('mfa-submit').click();
  await expect(again.getByTestId('current-user')).toHaveText('Audrey Auditor');
  // The wrong code is a 422 the browser logs; nothing else went wrong.
  expect(againErrors.filter((e) => !e.includes('status of 422'))).toEqual([]);
});
