import { expect, Page, test } from '@playwright/test';
import { expectHydrated, signIn } from '../tests/helpers';

const out = (name: string) => `../docs/screenshots/${name}.png`;

async function shoot(page: Page, path: string, name: string, ready: string) {
  await page.goto(path);
  await expect(page.getByTestId(ready).first()).toBeVisible();
  await expectHydrated(page);
  await page.screenshot({ path: out(name) });
}

test('the main screens', async ({ browser }) => {
  const owner = await (await browser.newContext()).newPage();
  await owner.goto('/login');
  await expectHydrated(owner);
  await owner.getByLabel('Organisation').fill('acme');
  await owner.getByLabel('Email').fill('olivia@acme.test');
  await owner.screenshot({ path: out('sign-in') });
  await signIn(owner, 'acme', 'olivia@acme.test');
  await expect(owner.getByTestId('current-user')).toHaveText('Olivia Owner');

  // Some life in the tenant first: a team with a role, an import with a bad row.
  await owner.goto('/teams');
  await expectHydrated(owner);
  await owner.getByTestId('new-team-form').getByLabel('Name').fill('Night shift');
  await owner.getByTestId('new-team-form').getByLabel('Description').fill('Keeps the lights on after hours');
  await owner.getByTestId('create-team').click();
  await owner.getByRole('link', { name: 'Night shift' }).click();
  await expectHydrated(owner);
  for (const who of ['Mark Member (mark@acme.test)', 'Maya Manager (maya@acme.test)']) {
    await owner.getByTestId('add-member-form').getByLabel('Add a member').selectOption({ label: who });
    await owner.getByTestId('add-member-form').getByRole('button', { name: 'Add' }).click();
    await expect(owner.getByTestId('team-members')).toContainText(who.split(' (')[0]);
  }
  await owner.getByTestId('grant-team-role-form').getByLabel('Grant a role').selectOption({ label: 'Auditor' });
  await owner.getByTestId('grant-team-role-form').getByRole('button', { name: 'Grant' }).click();
  await expect(owner.getByTestId('team-roles')).toContainText('Auditor');
  await owner.screenshot({ path: out('team') });

  await owner.goto('/users/import');
  await expectHydrated(owner);
  const csv = 'email,name,role\nivy@acme.test,Ivy Imported,Member\nnot-an-email,Broken Address,\nolivia@acme.test,Olivia Again,\njon@acme.test,Jon Imported,Wizards\n';
  await owner.getByLabel('CSV file').setInputFiles({ name: 'people.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
  await owner.getByTestId('start-import').click();
  await expect(owner.getByTestId('import-report')).toHaveAttribute('data-state', 'done', { timeout: 15_000 });
  await owner.screenshot({ path: out('import-report') });

  await shoot(owner, '/users', 'users', 'user-table');
  await owner.getByRole('link', { name: 'Mark Member' }).click();
  await expect(owner.getByTestId('profile-form')).toBeVisible();
  await owner.screenshot({ path: out('user') });
  await shoot(owner, '/roles', 'roles', 'role-table');
  const auditor = owner.getByRole('link', { name: 'Auditor' });
  await auditor.click();
  await expect(owner.getByTestId('role-matrix')).toBeVisible();
  await owner.screenshot({ path: out('role'), fullPage: true });
  await shoot(owner, '/roles/explain?email=mark%40acme.test&view=audit', 'explain-access', 'explanation');

  // Documents: a few files, one with a second version and metadata.
  const files: [string, string, string][] = [
    ['Supplier contract', 'legal, suppliers', 'contract.pdf'],
    ['Quarterly report Q3', 'finance, board', 'q3-report.xlsx'],
    ['Holiday rota', 'people', 'rota.csv'],
    ['Security policy', 'policy, security', 'security-policy.md'],
  ];
  for (const [title, tags, name] of files) {
    await owner.goto('/documents');
    await expectHydrated(owner);
    const form = owner.getByTestId('upload-form');
    await form.getByLabel('File').setInputFiles({ name, mimeType: 'application/octet-stream', buffer: Buffer.from(`${title}\n`.repeat(200)) });
    await form.getByLabel('Title').fill(title);
    await form.getByLabel('Tags').fill(tags);
    await form.getByLabel('Note').fill('First draft');
    await owner.getByTestId('upload').click();
    await expect(owner.getByTestId('version-row')).toHaveCount(1);
  }
  const versionForm = owner.getByTestId('version-form');
  await versionForm.getByLabel('File').setInputFiles({ name: 'security-policy.md', mimeType: 'text/markdown', buffer: Buffer.from('# Security policy\n\nApproved.\n'.repeat(100)) });
  await versionForm.getByLabel('What changed').fill('Approved by the board');
  await owner.getByTestId('upload-version').click();
  await expect(owner.getByTestId('version-row')).toHaveCount(2);
  await expectHydrated(owner);
  await owner.getByLabel('Key 1').fill('owner');
  await owner.getByLabel('Value 1').fill('Maya Manager');
  await owner.getByLabel('Key 2').fill('review');
  await owner.getByLabel('Value 2').fill('yearly');
  await owner.getByTestId('save-document').click();
  await expect(owner.getByTestId('document-form').getByTestId('notice')).toBeVisible();
  await owner.reload();
  await expect(owner.getByTestId('version-row')).toHaveCount(2);
  await expectHydrated(owner);
  await owner.screenshot({ path: out('document'), fullPage: true });
  await shoot(owner, '/documents', 'documents', 'document-table');
  await shoot(owner, '/', 'overview', 'activity-chart');
  await shoot(owner, '/audit', 'audit', 'event-table');
  await owner.goto('/audit?action=document.update');
  await owner.getByTestId('event-row').first().getByRole('link').first().click();
  await expect(owner.getByTestId('diff')).toBeVisible();
  await expectHydrated(owner);
  await owner.screenshot({ path: out('audit-event'), fullPage: true });
  await shoot(owner, '/audit/verify', 'audit-verify', 'chain-intact');

  const admin = await (await browser.newContext()).newPage();
  await signIn(admin, 'platform', 'admin@steward.test');
  await expect(admin.getByTestId('current-user')).toHaveText('Pat Admin');
  await shoot(admin, '/tenants', 'tenants', 'tenant-table');
  await admin.getByRole('link', { name: 'Acme Corporation' }).click();
  await expect(admin.getByTestId('tenant-form')).toBeVisible();
  await admin.screenshot({ path: out('tenant') });

  const support = await (await browser.newContext()).newPage();
  await signIn(support, 'platform', 'support@steward.test');
  await expect(support.getByTestId('current-user')).toHaveText('Sam Support');
  await shoot(support, '/users/find?q=max', 'find-user', 'find-hit');
  await support.getByTestId('find-hit').first().getByRole('button', { name: 'Open' }).click();
  await expect(support.getByTestId('acting-banner')).toBeVisible();
  await expect(support.getByRole('heading', { level: 1 })).toHaveText('Max Member');
  await support.screenshot({ path: out('acting-inside-a-tenant') });
});
