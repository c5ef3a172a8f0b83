import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { expect, queryOne, test } from './fixtures';

// Issue 16, catalogue and users: go to an item by id, export what the filter shows, the app's
// own 404 page, holdout labels kept from reviewers, and disabling a user asks first.

const SLUG = 'fashion-mnist';
const NAME = 'Fashion-MNIST (demo)';

function count(sql: string, ...params: unknown[]): number {
  return queryOne<{ n: number }>(sql, ...params)!.n;
}
function itemId(where: string): number {
  return queryOne<{ id: number }>(
    `select i.id from items i join catalogues c on c.id = i.catalogue_id where c.slug = ? and ${where} order by i.id limit 1`,
    SLUG,
  )!.id;
}

test('go to an item by id: a known id opens its page, a wrong one gets a sentence and no page change', async ({
  opsPage: page,
}) => {
  const plain = itemId('i.eval_role is null');
  await page.goto(`/catalogues/${SLUG}`);
  const input = page.getByTestId('go-to-item-input');

  await input.fill('not-an-id');
  await page.getByTestId('go-to-item-submit').click();
  await expect(page.getByTestId('go-to-item-message')).toHaveText('An item id is a whole number from 1 up, like 1234.');

  await input.fill('99999999');
  await input.press('Enter');
  await expect(page.getByTestId('go-to-item-message')).toHaveText(`There is no item 99999999 in ${NAME}.`);
  await expect(page).toHaveURL(new RegExp(`/catalogues/${SLUG}$`));

  // An item of the other demo catalogue is not in this one.
  const digit = queryOne<{ id: number }>(
    `select i.id from items i join catalogues c on c.id = i.catalogue_id where c.slug != ? and i.eval_role is null limit 1`,
    SLUG,
  );
  if (digit) {
    await input.fill(String(digit.id));
    await input.press('Enter');
    await expect(page.getByTestId('go-to-item-message')).toHaveText(`There is no item ${digit.id} in ${NAME}.`);
  }

  await input.fill(`#${plain}`);
  await input.press('Enter');
  await expect(page).toHaveURL(new RegExp(`/catalogues/${SLUG}/items/${plain}$`));
  await expect(page.getByRole('heading', { name: `Item #${plain}` })).toBeVisible();
});

test('an unknown item or address gets the app own not-found page, answering 404, with a way back', async ({
  opsPage: page,
}) => {
  const missing = await page.goto(`/catalogues/${SLUG}/items/99999999`);
  expect(missing?.status()).toBe(404);
  await expect(page.getByTestId('not-found')).toContainText('There is no item 99999999 here');
  await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
  await page.getByTestId('not-found-back').click();
  await expect(page).toHaveURL(new RegExp(`/catalogues/${SLUG}$`));

  const junk = await page.goto(`/catalogues/${SLUG}/items/abc`);
  expect(junk?.status()).toBe(404);
  await expect(page.getByTestId('not-found')).toBeVisible();

  const nowhere = await page.goto('/no-such-page/at-all');
  expect(nowhere?.status()).toBe(404);
  await expect(page.getByTestId('not-found')).toContainText('There is no page at this address.');
  await expect(page.getByTestId('not-found-back')).toHaveAttribute('href', '/catalogues');

  const catalogue = await page.goto('/catalogues/no-such-catalogue');
  expect(catalogue?.status()).toBe(404);
  await expect(page.getByTestId('not-found')).toContainText('There is no catalogue "no-such-catalogue".');
});

test('ops exports exactly what the current filter shows; a bad filter or a reviewer is refused', async ({
  opsPage: page,
}) => {
  await page.goto(`/catalogues/${SLUG}?status=needs_review&minConfidence=0.5&sort=confidence&page=2`);
  const expected = count(
    `select count(*) as n from items i join catalogues c on c.id = i.catalogue_id
     join predictions p on p.item_id = i.id and p.model_version_id = (select id from model_versions where catalogue_id = c.id and status = 'active')
     where c.slug = ? and i.status = 'needs_review' and p.confidence >= 0.5`,
    SLUG,
  );
  expect(expected).toBeGreaterThan(0);
  await expect(page.getByTestId('items-total')).toHaveText(expected.toLocaleString('en-US'));
  const link = page.getByTestId('export-csv');
  await expect(link).toHaveText(`Export these ${expected.toLocaleString('en-US')} items (CSV)`);
  const href = (await link.getAttribute('href'))!;
  expect(href).toContain('status=needs_review');
  expect(href).toContain('minConfidence=0.5');
  expect(href).not.toContain('page=');

  const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
  expect(download.suggestedFilename()).toMatch(/^fashion-mnist-labels-filtered-.*\.csv$/);
  const lines = fs
    .readFileSync((await download.path())!, 'utf8')
    .trimEnd()
    .split('\r\n');
  expect(lines).toHaveLength(expected + 1);
  expect(lines.slice(1).every((line) => line.includes(',needs_review,'))).toBe(true);

  // Changing the filter changes the link.
  await page.getByTestId('filter-status').selectOption('auto_accepted');
  await expect(link).toHaveAttribute('href', /status=auto_accepted/);

  const bad = await page.request.get(
    `/api/v1/catalogues/${SLUG}/export?format=csv&minConfidence=0.9&maxConfidence=0.1`,
  );
  expect(bad.status()).toBe(400);
  expect((await bad.json()).error.message).toBe('minConfidence: minConfidence cannot be above maxConfidence');
});

test('a reviewer sees no holdout item, nor its label, and the count says so', async ({
  reviewerPage: page,
  opsPage: ops,
}) => {
  const holdout = count(
    `select count(*) as n from items i join catalogues c on c.id = i.catalogue_id where c.slug = ? and i.eval_role = 'holdout'`,
    SLUG,
  );
  const plain = count(
    `select count(*) as n from items i join catalogues c on c.id = i.catalogue_id where c.slug = ? and i.eval_role is null`,
    SLUG,
  );
  expect(holdout).toBeGreaterThan(0);
  await page.goto(`/catalogues/${SLUG}`);
  await expect(page.getByTestId('items-count')).toContainText(
    `${plain.toLocaleString('en-US')} items (excluding ${holdout.toLocaleString('en-US')} holdout items)`,
  );
  await expect(page.getByTestId('filter-eval-role')).toHaveCount(0);

  const held = itemId("i.eval_role = 'holdout'");
  const page404 = await page.goto(`/catalogues/${SLUG}/items/${held}`);
  expect(page404?.status()).toBe(404);
  await expect(page.getByTestId('item-current-label')).toHaveCount(0);
  expect((await page.request.get(`/api/v1/items/${held}`)).status()).toBe(404);
  const listed = await (await page.request.get(`/api/v1/catalogues/${SLUG}/items?evalRole=holdout`)).json();
  expect(listed.total).toBe(0);

  await page.goto(`/catalogues/${SLUG}`);
  await page.getByTestId('go-to-item-input').fill(String(held));
  await page.getByTestId('go-to-item-input').press('Enter');
  await expect(page.getByTestId('go-to-item-message')).toHaveText(`There is no item ${held} in ${NAME}.`);

  // Ops see it, and their count says it includes the holdout.
  await ops.goto(`/catalogues/${SLUG}`);
  await expect(ops.getByTestId('items-scope')).toContainText(`including ${holdout.toLocaleString('en-US')} holdout`);
  const opened = await ops.goto(`/catalogues/${SLUG}/items/${held}`);
  expect(opened?.status()).toBe(200);
  await expect(ops.getByTestId('item-facts')).toContainText('holdout');

  await page.goto('/catalogues');
  await expect(page.getByTestId('catalogue-scope').first()).toContainText('holdout items');
  await expect(page.getByTestId('catalogue-scope').first()).not.toContainText('gold');
});

test('disabling a user asks first in a dialog; Cancel and Escape change nothing', async ({ adminPage: page }) => {
  const email = `disable-${randomUUID().slice(0, 8)}@loupe.test`;
  await page.goto('/admin/users');
  const form = page.getByRole('form', { name: 'Create a user' });
  await form.getByLabel('Email').fill(email);
  await form.getByLabel('Name').fill('To Disable');
  await form.getByLabel(/^Password/).fill('e2e-password-long');
  await form.getByRole('button', { name: 'Create user' }).click();
  await expect(page.getByTestId('create-user-ok')).toBeVisible();

  const row = page.locator(`[data-testid=user-row][data-email="${email}"]`);
  const disabled = () => queryOne<{ d: number }>('select disabled as d from users where email = ?', email)!.d;
  const dialog = page.getByRole('dialog', { name: `Disable ${email}?` });

  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText('can no longer sign in');
  // Cancel has the focus: Enter alone never disables anyone.
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  expect(disabled()).toBe(0);

  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(dialog).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  expect(disabled()).toBe(0);

  await row.getByRole('button', { name: 'Disable' }).click();
  await dialog.getByRole('button', { name: 'Disable', exact: true }).click();
  await expect(row.getByTestId('user-status')).toHaveText('disabled');
  expect(disabled()).toBe(1);

  // Enabling again does not ask.
  await row.getByRole('button', { name: 'Enable' }).click();
  await expect(row.getByTestId('user-status')).toHaveText('active');
  await expect(dialog).toBeHidden();
});
