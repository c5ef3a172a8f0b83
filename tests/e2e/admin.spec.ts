import { expect, queryOne, signInWithApi, test } from './fixtures';
import { acceptMoveWarning } from './move-warning';

// What an admin does on the import, threshold and users pages, checked against the database.

const PIXELS = 784;

function csvRows(labels: number[], options: { shortRow?: number } = {}): Buffer {
  const lines = labels.map((label, row) => {
    const pixels = Array.from({ length: PIXELS }, (_, i) => ((i % 28) + row * 7) % 256);
    const cells = [label, ...pixels];
    return (row === options.shortRow ? cells.slice(0, -3) : cells).join(',');
  });
  return Buffer.from(`${lines.join('\n')}\n`);
}

function itemCount(slug: string): number {
  return (
    queryOne<{ n: number }>(
      'select count(*) as n from items join catalogues c on c.id = items.catalogue_id where c.slug = ?',
      slug,
    )?.n ?? 0
  );
}

test('an admin imports a CSV into a new catalogue and sees its items', async ({ adminPage: page }) => {
  const slug = `e2e-shoes-${Date.now()}`;
  await page.goto('/import');
  await page.getByLabel('A new catalogue').check();
  await page.getByLabel(/^Slug/).fill(slug);
  await page.getByLabel('Name', { exact: true }).fill('E2E Shoes');
  await page.getByLabel(/^Class names/).fill('boot\nsandal\nsneaker');
  await page
    .getByLabel('CSV file')
    .setInputFiles({ name: 'shoes.csv', mimeType: 'text/csv', buffer: csvRows([0, 2, 1, 1]) });
  await page.getByRole('button', { name: 'Upload and import' }).click();

  await expect(page.getByTestId('import-result')).toContainText('Imported into E2E Shoes (new catalogue)');
  await expect(page.getByTestId('import-inserted')).toHaveText('4 new items');
  // No model for a new class list: the page says why the items stay unscored.
  await expect(page.getByTestId('scoring-progress')).toContainText('no model yet');
  expect(itemCount(slug)).toBe(4);
  expect(queryOne<{ source: string }>('select source from imports order by id desc limit 1')?.source).toBe(
    'upload: shoes.csv',
  );
  await expect(page.getByTestId('recent-imports')).toContainText(slug);

  // The catalogue list counts them too.
  await page.goto('/');
  await expect(page.getByRole('row', { name: /E2E Shoes/ })).toContainText('4');
});

test('a bad file shows the server sentence and imports nothing, not even its new catalogue', async ({
  adminPage: page,
}) => {
  const slug = `e2e-bad-${Date.now()}`;
  const before = queryOne<{ n: number }>('select count(*) as n from items')!.n;
  await page.goto('/import');
  await page.getByLabel('A new catalogue').check();
  await page.getByLabel(/^Slug/).fill(slug);
  await page.getByLabel('Name', { exact: true }).fill('Bad');
  await page.getByLabel(/^Class names/).fill('a\nb');
  await page
    .getByLabel('CSV file')
    .setInputFiles({ name: 'broken.csv', mimeType: 'text/csv', buffer: csvRows([0, 1, 1], { shortRow: 2 }) });
  await page.getByRole('button', { name: 'Upload and import' }).click();

  await expect(page.getByTestId('import-error')).toHaveText(
    "broken.csv: line 3 has 782 columns; the file's rows have 785.",
  );
  await expect(page.getByTestId('import-result')).toHaveCount(0);
  expect(queryOne<{ n: number }>('select count(*) as n from items')!.n).toBe(before);
  expect(queryOne('select id from catalogues where slug = ?', slug)).toBeUndefined();
});

test('the import API refuses an oversized upload with 413 and a sentence, importing nothing', async ({
  adminPage: page,
}) => {
  const before = queryOne<{ n: number }>('select count(*) as n from imports')!.n;
  const response = await page.request.post('/api/v1/imports', {
    multipart: {
      catalogue: 'fashion-mnist',
      file: { name: 'huge-idx3-ubyte', mimeType: 'application/octet-stream', buffer: Buffer.alloc(65 * 1024 * 1024) },
    },
  });
  expect(response.status()).toBe(413);
  expect((await response.json()).error).toEqual({
    code: 'too_large',
    message: expect.stringMatching(/^The upload is 65\.0 MB; one import may be at most 64\.0 MB in total\./),
  });
  expect(queryOne<{ n: number }>('select count(*) as n from imports')!.n).toBe(before);
});

test('an admin creates a user who can then sign in with the new role', async ({ adminPage: page, browser }) => {
  const email = `e2e-user-${Date.now()}@example.test`;
  await page.goto('/admin/users');
  const form = page.getByRole('form', { name: 'Create a user' });
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Name').fill('E2E Person');
  await form.getByRole('combobox', { name: /^Role/ }).selectOption('ops');
  await form.getByLabel(/^Password/).fill('short');
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(page.getByTestId('create-user-error')).toHaveText('password: a password has at least 10 characters');

  await form.getByLabel(/^Password/).fill('e2e-password-long');
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(page.getByTestId('create-user-ok')).toHaveText(`Created ${email} (ops).`);
  await expect(page.locator(`[data-testid=user-row][data-email="${email}"]`)).toContainText('ops');

  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Name').fill('Again');
  await form.getByLabel(/^Password/).fill('e2e-password-long');
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(page.getByTestId('create-user-error')).toHaveText(`A user with the email ${email} already exists.`);

  const context = await browser.newContext();
  try {
    const newcomer = await context.newPage();
    await signInWithApi(newcomer.request, { email, password: 'e2e-password-long' });
    await newcomer.goto('/');
    await expect(newcomer.getByTestId('signed-in-as')).toHaveText(`${email} (ops)`);
    await newcomer.goto('/admin/users');
    await expect(newcomer.getByTestId('forbidden')).toBeVisible();
  } finally {
    await context.close();
  }
});

test('the last admin cannot demote themselves', async ({ adminPage: page }) => {
  const admins = queryOne<{ n: number }>("select count(*) as n from users where role = 'admin' and disabled = 0")!.n;
  test.skip(admins !== 1, 'another spec made a second admin');
  await page.goto('/admin/users');
  const row = page.locator('[data-testid=user-row][data-email="admin@loupe.demo"]');
  await row.getByLabel('Role', { exact: true }).selectOption('reviewer');
  await row.getByRole('button', { name: 'Change role' }).click();
  await expect(row.getByTestId('user-role-error')).toHaveText(
    'admin@loupe.demo is the last active admin; make another user an admin first.',
  );
  expect(queryOne<{ role: string }>("select role from users where email = 'admin@loupe.demo'")?.role).toBe('admin');
});

test('an admin changes the threshold and sees how many items entered and left the queue', async ({
  adminPage: page,
}) => {
  const queued = () =>
    queryOne<{ n: number }>(
      "select count(*) as n from items join catalogues c on c.id = items.catalogue_id where c.slug = 'fashion-mnist' and status = 'needs_review'",
    )!.n;
  await page.goto('/settings');
  const section = page.locator('[data-testid=threshold-catalogue][data-slug="fashion-mnist"]');
  const current = Number(await section.getByTestId('threshold-current').textContent());
  const raised = current < 0.95 ? 0.97 : 0.99;
  const input = section.getByLabel(/^New threshold/);
  const save = section.getByRole('button', { name: 'Save and re-route' });

  await input.fill('1.5');
  await save.click();
  await expect(section.getByTestId('threshold-error')).toHaveText(
    'threshold: must be a calibrated confidence strictly between 0 and 1, e.g. 0.9',
  );

  const before = queued();
  await input.fill(String(raised));
  await save.click();
  await acceptMoveWarning(page, section.getByTestId('threshold-result').filter({ hasText: `→ ${raised}:` }));
  await expect(section.getByTestId('threshold-result')).toContainText(`Threshold ${current} → ${raised}`);
  const entered = Number((await section.getByTestId('threshold-entered').textContent())!.replace(/\D/g, ''));
  expect(entered).toBeGreaterThan(0);
  await expect(section.getByTestId('threshold-left')).toHaveText('0 items');
  expect(queued()).toBe(before + entered);
  await expect(section.getByTestId('threshold-current')).toHaveText(String(raised));
  await expect(section.getByTestId('threshold-history')).toContainText(
    `admin@loupe.demothreshold: ${current} → ${raised}`,
  );

  // Back to where it was, so other specs see the seeded queue: the same items leave again.
  await input.fill(String(current));
  await save.click();
  await acceptMoveWarning(page, section.getByTestId('threshold-result').filter({ hasText: `→ ${current}:` }));
  await expect(section.getByTestId('threshold-result')).toContainText(`Threshold ${raised} → ${current}`);
  await expect(section.getByTestId('threshold-left')).toHaveText(`${entered.toLocaleString('en')} items`);
  expect(queued()).toBe(before);
});
