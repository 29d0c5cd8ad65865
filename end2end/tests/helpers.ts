import { expect, Page } from '@playwright/test';

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
