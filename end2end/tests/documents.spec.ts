import { expect, test } from '@playwright/test';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expectHydrated, signIn, watchForPageErrors } from './helpers';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('the owner uploads a document and a second version, downloads the first, and finds both in the audit log', async ({ page }) => {
  const errors = watchForPageErrors(page);
  const first = Buffer.from(`Board minutes, draft ${Date.now()}\n`);
  const second = Buffer.from(`Board minutes, approved ${Date.now()}\n`);
  await signIn(page, 'acme', 'olivia@acme.test');

  // The overview tells the state of the tenant.
  await expect(page.getByTestId('users-by-status')).toContainText('active');
  await expect(page.getByTestId('activity-chart')).toBeVisible();
  const before = Number(await page.getByTestId('documents-count').locator('p').nth(1).innerText());

  await page.getByTestId('sidebar').getByRole('link', { name: 'Documents' }).click();
  await expectHydrated(page);
  const upload = page.getByTestId('upload-form');
  await upload.getByLabel('File').setInputFiles({ name: 'minutes.txt', mimeType: 'text/plain', buffer: first });
  await upload.getByLabel('Title').fill('Board minutes');
  await upload.getByLabel('Tags').fill('board, 2026');
  await page.getByTestId('upload').click();
  await expect(page).toHaveURL(/\/documents\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('notice')).toHaveText('Document uploaded.');
  await expect(page.getByTestId('version-row')).toHaveCount(1);
  const documentId = page.url().split('/').pop()!;

  // A second version, with a note.
  const versionForm = page.getByTestId('version-form');
  await versionForm.getByLabel('File').setInputFiles({ name: 'minutes-approved.txt', mimeType: 'text/plain', buffer: second });
  await versionForm.getByLabel('What changed').fill('Approved by the board');
  await page.getByTestId('upload-version').click();
  await expect(page.getByTestId('notice')).toHaveText('Version 2 uploaded.');
  await expect(page.getByTestId('version-row')).toHaveCount(2);
  await expect(page.getByTestId('version-row').first()).toContainText('Approved by the board');

  // Metadata, saved through the hydrated form.
  await expectHydrated(page);
  await page.getByLabel('Key 1').fill('meeting');
  await page.getByLabel('Value 1').fill('November');
  await page.getByTestId('save-document').click();
  await expect(page.getByTestId('document-form').getByTestId('notice')).toHaveText('Document saved.');

  // The first version comes back byte for byte, and its checksum is the one shown.
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-v1').click()]);
  expect(download.suggestedFilename()).toBe('minutes.txt');
  const bytes = readFileSync((await download.path())!);
  expect(bytes.equals(first)).toBe(true);
  await expect(page.getByTestId('version-row').nth(1).getByTestId('sha256')).toHaveAttribute('title', sha256(first));
  await expect(page.getByTestId('version-row').nth(0).getByTestId('sha256')).toHaveAttribute('title', sha256(second));

  // Both uploads are in the audit log, each with its diff.
  await page.goto(`/audit?entity_type=document&entity_id=${documentId}`);
  await expectHydrated(page);
  const rows = page.getByTestId('event-row');
  await expect(rows).toHaveCount(4);
  await expect(rows.nth(0)).toContainText('document.download');
  await expect(rows.nth(1)).toContainText('document.update');
  await expect(rows.nth(2)).toContainText('document.version_add');
  await expect(rows.nth(3)).toContainText('document.create');

  await rows.nth(2).getByRole('link').first().click();
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('document.version_add');
  const version = page.getByTestId('diff-row').filter({ hasText: /^version/ });
  await expect(version).toContainText('1');
  await expect(version).toContainText('2');
  await expect(version).toHaveAttribute('data-changed', 'true');
  await expect(page.getByTestId('diff-row').filter({ hasText: /^sha256/ })).toContainText(sha256(second));
  await expect(page.getByTestId('diff-row').filter({ hasText: /^note/ })).toContainText('Approved by the board');

  await page.goto(`/audit?entity_type=document&entity_id=${documentId}&action=document.create`);
  await page.getByTestId('event-row').getByRole('link').first().click();
  await expect(page.getByTestId('diff-row').filter({ hasText: /^title/ })).toContainText('Board minutes');
  await expect(page.getByTestId('diff-row').filter({ hasText: /^sha256/ })).toContainText(sha256(first));
  await page.getByTestId('entity-link').click();
  await expect(page).toHaveURL(new RegExp(`/documents/${documentId}$`));

  // The chain still verifies, and the overview counts the new document.
  await page.goto('/audit/verify');
  await expect(page.getByTestId('chain-intact')).toBeVisible();
  await page.goto('/');
  await expect(page.getByTestId('documents-count').locator('p').nth(1)).toHaveText(String(before + 1));
  expect(errors).toEqual([]);
});
