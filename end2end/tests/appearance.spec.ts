import AxeBuilder from '@axe-core/playwright';
import { Browser, expect, Page, test } from '@playwright/test';
import { expectHydrated, signIn, watchForPageErrors } from './helpers';

// Light, dark, or as the system is set: each person's choice, applied by
// the server to every page; and in dark, as in light, text that contrasts
// with its background (WCAG AA, checked by axe-core in the page).

/** The owner's main screens, and the platform's. */
const OWNER_SCREENS = ['/', '/users', '/users/new', '/users/invite', '/teams', '/roles', '/documents', '/audit', '/settings', '/settings/webhooks', '/account/password', '/account/appearance'];
const PLATFORM_SCREENS = ['/tenants', '/mail', '/access-log', '/system'];

async function pageIn(browser: Browser, colorScheme: 'light' | 'dark'): Promise<Page> {
  return (await browser.newContext({ colorScheme })).newPage();
}

/** What axe-core finds of text that does not contrast enough with its background. */
async function contrastProblems(page: Page): Promise<string[]> {
  const result = await new AxeBuilder({ page }).withRules(['color-contrast']).analyze();
  return result.violations.flatMap((v) => v.nodes.map((n) => `${new URL(page.url()).pathname} ${n.target.join(' ')}: ${n.any.map((c) => c.message).join('; ')}`));
}

/** Opens each of `paths` and gathers what axe-core finds there. */
async function problemsOn(page: Page, paths: string[]): Promise<string[]> {
  const problems: string[] = [];
  for (const path of paths) {
    await page.goto(path);
    await expectHydrated(page);
    problems.push(...(await contrastProblems(page)));
  }
  return problems;
}

const background = (page: Page) => page.evaluate(() => getComputedStyle(document.body).backgroundColor);

for (const scheme of ['dark', 'light'] as const) {
  test(`the main screens in ${scheme} mode: all text contrasts with its background`, async ({ browser }) => {
    test.setTimeout(120_000);
    const problems: string[] = [];
    const signedOut = await pageIn(browser, scheme);
    await signedOut.goto('/login');
    await expectHydrated(signedOut);
    problems.push(...(await contrastProblems(signedOut)));

    const owner = await pageIn(browser, scheme);
    const errors = watchForPageErrors(owner);
    await signIn(owner, 'acme', 'olivia@acme.test');
    await expect(owner.getByTestId('current-user')).toHaveText('Olivia Owner');
    problems.push(...(await problemsOn(owner, OWNER_SCREENS)));
    const admin = await pageIn(browser, scheme);
    await signIn(admin, 'platform', 'admin@steward.test');
    await expect(admin.getByTestId('current-user')).toHaveText('Pat Admin');
    problems.push(...(await problemsOn(admin, PLATFORM_SCREENS)));
    expect(problems).toEqual([]);
    expect(errors).toEqual([]);
  });
}

test('a person who chooses dark gets every page dark from the server, on every device, whatever the system says', async ({ browser }) => {
  const light = await pageIn(browser, 'light');
  const dark = await pageIn(browser, 'dark');
  await light.goto('/login');
  await dark.goto('/login');
  const [lightBackground, darkBackground] = [await background(light), await background(dark)];
  expect(lightBackground).not.toEqual(darkBackground);

  const audrey = light;
  const errors = watchForPageErrors(audrey);
  await signIn(audrey, 'acme', 'audrey@acme.test');
  await expect(audrey.getByTestId('current-user')).toHaveText('Audrey Auditor');
  await audrey.goto('/account/appearance');
  await expectHydrated(audrey);
  await expect(audrey.getByTestId('theme-system')).toBeChecked();
  await audrey.getByTestId('theme-dark').check();
  await audrey.getByTestId('save-theme').click();
  await expect(audrey.getByTestId('appearance').getByTestId('notice')).toHaveText('Appearance saved.');
  // At once, on this page; and as the server sends every page after.
  await expect(audrey.locator('html')).toHaveAttribute('data-theme', 'dark');
  expect(await background(audrey)).toEqual(darkBackground);
  const sent = await (await audrey.request.get('/users')).text();
  expect(sent).toContain('<html lang="en" data-theme="dark"');
  await audrey.goto('/');
  expect(await background(audrey)).toEqual(darkBackground);

  // Another device, its system light: dark from the first page after signing in.
  const elsewhere = await pageIn(browser, 'light');
  await signIn(elsewhere, 'acme', 'audrey@acme.test');
  await expect(elsewhere.getByTestId('current-user')).toHaveText('Audrey Auditor');
  await expect(elsewhere.locator('html')).toHaveAttribute('data-theme', 'dark');
  expect(await background(elsewhere)).toEqual(darkBackground);

  // Light, on a device whose system is dark.
  const night = await pageIn(browser, 'dark');
  await signIn(night, 'acme', 'audrey@acme.test');
  await expect(night.getByTestId('current-user')).toHaveText('Audrey Auditor');
  // Dark already, from the choice made on the first device.
  await expect(night.locator('html')).toHaveAttribute('data-theme', 'dark');
  await night.goto('/account/appearance');
  await expectHydrated(night);
  await night.getByTestId('theme-light').check();
  await night.getByTestId('save-theme').click();
  await expect(night.getByTestId('appearance').getByTestId('notice')).toHaveText('Appearance saved.');
  await night.goto('/');
  expect(await background(night)).toEqual(lightBackground);
  expect(errors).toEqual([]);
});

test('list cells keep their spacing, styled from the table rather than from each cell', async ({ page }) => {
  const errors = watchForPageErrors(page);
  await signIn(page, 'acme', 'olivia@acme.test');
  await expect(page.getByTestId('current-user')).toHaveText('Olivia Owner');
  for (const [path, row] of [['/users', 'user-row'], ['/audit', 'event-row']]) {
    await page.goto(path);
    await expectHydrated(page);
    const cell = page.getByTestId(row).first().locator('td').nth(1);
    const style = await cell.evaluate((td) => {
      const s = getComputedStyle(td);
      return { left: s.paddingLeft, right: s.paddingRight, top: s.paddingTop, bottom: s.paddingBottom, align: s.verticalAlign, cls: td.getAttribute('class') };
    });
    expect(style, path).toEqual({ left: '12px', right: '12px', top: '8px', bottom: '8px', align: 'top', cls: null });
  }
  expect(errors).toEqual([]);
});
