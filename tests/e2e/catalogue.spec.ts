import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { expect, queryAll, queryOne, test } from './fixtures';

// The catalogue browser, the item page and the export, in a real browser against `npm start`.

function count(sql: string, ...params: unknown[]): number {
  return queryOne<{ n: number }>(sql, ...params)!.n;
}

const ACTIVE_MODEL = `(select m.id from model_versions m join catalogues c on c.id = m.catalogue_id where c.slug = 'fashion-mnist' and m.status = 'active')`;

test('ops browses, filters and sorts the catalogue, and the URL keeps the view', async ({ opsPage: page }) => {
  await page.goto('/catalogues');
  await page.getByRole('link', { name: 'Fashion-MNIST (demo)' }).click();
  await expect(page).toHaveURL(/\/catalogues\/fashion-mnist$/);
  const total = count(
    `select count(*) as n from items i join catalogues c on c.id = i.catalogue_id where c.slug = 'fashion-mnist'`,
  );
  await expect(page.getByTestId('items-total')).toHaveText(total.toLocaleString('en-US'));
  await expect(page.getByTestId('items-row')).toHaveCount(50);
  await expect(page.getByTestId('items-table').locator('img').first()).toHaveJSProperty('naturalWidth', 28);

  await page.getByTestId('filter-status').selectOption('needs_review');
  await expect(page).toHaveURL(/status=needs_review/);
  const needsReview = count(
    `select count(*) as n from items i join catalogues c on c.id = i.catalogue_id where c.slug = 'fashion-mnist' and i.status = 'needs_review'`,
  );
  await expect(page.getByTestId('items-total')).toHaveText(needsReview.toLocaleString('en-US'));

  await page.getByTestId('sort-confidence').click();
  await expect(page).toHaveURL(/sort=confidence/);
  // The first row is the least confident item that needs review.
  const least = queryOne<{ id: number }>(
    `select p.item_id as id from predictions p join items i on i.id = p.item_id where p.model_version_id = ${ACTIVE_MODEL} and i.status = 'needs_review' order by p.confidence, p.item_id limit 1`,
  )!;
  await expect(page.getByTestId('item-link').first()).toHaveText(`#${least.id}`);

  await page.getByTestId('filter-min-confidence').fill('0.5');
  await page.getByTestId('filter-min-confidence').press('Enter');
  await expect(page).toHaveURL(/minConfidence=0.5/);
  const confident = count(
    `select count(*) as n from predictions p join items i on i.id = p.item_id where p.model_version_id = ${ACTIVE_MODEL} and i.status = 'needs_review' and p.confidence >= 0.5`,
  );
  await expect(page.getByTestId('items-total')).toHaveText(confident.toLocaleString('en-US'));

  await page.getByTestId('page-next').click();
  await expect(page).toHaveURL(/page=2/);
  await expect(page.getByTestId('page-indicator')).toContainText('Page 2 of');

  // The same address in a fresh page shows the same view.
  const shared = await page.context().newPage();
  await shared.goto(page.url());
  await expect(shared.getByTestId('items-total')).toHaveText(confident.toLocaleString('en-US'));
  await expect(shared.getByTestId('page-indicator')).toContainText('Page 2 of');
  await expect(shared.getByTestId('filter-status')).toHaveValue('needs_review');
  await expect(shared.getByTestId('filter-min-confidence')).toHaveValue('0.5');
  // Back goes to the previous view.
  await page.goBack();
  await expect(page.getByTestId('page-indicator')).toContainText('Page 1 of');
});

test('a reviewer opens a shared filtered view and an item page with its review history', async ({
  reviewerPage: page,
}) => {
  await page.goto('/catalogues/fashion-mnist?predicted=6&sort=confidence&dir=desc&pageSize=25');
  // Reviewers do not see evaluation items (holdout, gold): their labels are trusted data.
  const shirts = count(
    `select count(*) as n from predictions p join items i on i.id = p.item_id where p.model_version_id = ${ACTIVE_MODEL} and p.predicted_class = 6 and i.eval_role is null`,
  );
  await expect(page.getByTestId('items-total')).toHaveText(shirts.toLocaleString('en-US'));
  await expect(page.getByTestId('items-row')).toHaveCount(25);
  for (const text of await page.getByTestId('items-row').locator('td:nth-child(6)').allTextContents())
    expect(text).toBe('Shirt');
  // Reviewers may not export: no buttons, and the route refuses.
  await expect(page.getByTestId('export-csv')).toHaveCount(0);
  const refused = await page.request.get('/api/v1/catalogues/fashion-mnist/export?format=csv');
  expect(refused.status()).toBe(403);
  expect((await refused.json()).error.code).toBe('forbidden');

  // Decide one item through the API, then find that decision on its page.
  const claim = await page.request.post('/api/v1/queue/claim', { data: { catalogue: 'fashion-mnist' } });
  expect(claim.status()).toBe(200);
  const { item } = (await claim.json()) as { item: { itemId: number; predictedClass: number; modelVersionId: number } };
  const label = (item.predictedClass + 1) % 10;
  const submit = await page.request.post('/api/v1/reviews', {
    data: {
      itemId: item.itemId,
      action: 'correct',
      label,
      clientId: randomUUID(),
      durationMs: 2300,
      modelVersionId: item.modelVersionId,
    },
  });
  expect(submit.status()).toBe(200);

  await page.goto(`/catalogues/fashion-mnist?labelSource=human&label=${label}&predicted=${item.predictedClass}`);
  await page
    .getByTestId('item-link')
    .filter({ hasText: `#${item.itemId}` })
    .click();
  await expect(page).toHaveURL(new RegExp(`/catalogues/fashion-mnist/items/${item.itemId}$`));
  await expect(page.getByTestId('item-image')).toHaveJSProperty('naturalWidth', 28);
  const classNames = queryOne<{ names: string }>(
    `select class_names as names from catalogues where slug = 'fashion-mnist'`,
  )!;
  const names = JSON.parse(classNames.names) as string[];
  await expect(page.getByTestId('item-current-label')).toHaveText(names[label]!);
  await expect(page.getByTestId('item-prediction').first()).toContainText('active');
  const review = page.getByTestId('item-review').first();
  await expect(review).toContainText('reviewer@loupe.demo');
  await expect(review).toContainText('correct');
  await expect(review).toContainText(names[item.predictedClass]!);
  await expect(review).toContainText('2.3 s');

  // An item of another catalogue, or none at all, is a 404 page.
  const missing = await page.goto('/catalogues/fashion-mnist/items/99999999');
  expect(missing?.status()).toBe(404);
});

test('ops downloads the labels as CSV, with the human decision and its reviewer', async ({ opsPage: page }) => {
  await page.goto('/catalogues/fashion-mnist');
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-csv').click()]);
  expect(download.suggestedFilename()).toMatch(/^fashion-mnist-labels-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\.csv$/);
  const text = fs.readFileSync((await download.path())!, 'utf8');
  const lines = text.trimEnd().split('\r\n');
  expect(lines[0]).toBe(
    'item_id,source,source_row,external_id,label,label_name,label_source,status,eval_role,predicted,predicted_name,confidence,model_version,reviewed_by,reviewed_at',
  );
  const items = count(
    `select count(*) as n from items i join catalogues c on c.id = i.catalogue_id where c.slug = 'fashion-mnist'`,
  );
  expect(lines).toHaveLength(items + 1);
  // Every human label names who gave it.
  const human = await queryAll<{ id: number }>(
    `select i.id from items i join catalogues c on c.id = i.catalogue_id where c.slug = 'fashion-mnist' and i.label_source = 'human' limit 5`,
  );
  expect(human.length).toBeGreaterThan(0);
  for (const { id } of human) {
    const line = lines.find((l) => l.startsWith(`${id},`));
    expect(line, `item ${id}`).toMatch(/,human,reviewed,.*,[^,]+@[^,]+,\d{4}-\d\d-\d\dT[\d:.]+Z$/);
  }
  const json = await page.request.get('/api/v1/catalogues/fashion-mnist/export?format=json');
  expect(json.status()).toBe(200);
  expect(json.headers()['content-disposition']).toMatch(/attachment; filename="fashion-mnist-labels-.*\.json"/);
  expect(((await json.json()) as { items: unknown[] }).items).toHaveLength(items);
});
