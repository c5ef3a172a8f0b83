import fs from 'node:fs';
import type { Locator, Page } from '@playwright/test';
import { expect, queryAll, queryOne, test } from './fixtures';

// The second demo catalogue, MNIST digits, beside Fashion-MNIST: a reviewer switches to it,
// decides digits, and the decisions land in its catalogue page and on its dashboard, never in
// Fashion-MNIST's. Its settings and models are its own.

const SLUG = 'mnist-digits';
const NAME = 'MNIST digits (demo)';
const DIGITS = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

function catalogueOfItem(itemId: number): string | undefined {
  return queryOne<{ slug: string }>(
    'select c.slug from items i join catalogues c on c.id = i.catalogue_id where i.id = ?',
    itemId,
  )?.slug;
}

async function humanDecisions(
  slug: string,
): Promise<{ item: number; action: string; chosen: number; model: number }[]> {
  return await queryAll(
    `select r.item_id as item, r.action, r.chosen_label as chosen, r.model_label as model
     from reviews r join items i on i.id = r.item_id join catalogues c on c.id = i.catalogue_id
     where c.slug = ? and r.action in ('confirm', 'correct') order by r.id`,
    slug,
  );
}

async function shownItem(item: Locator, previous?: number): Promise<number> {
  await expect(item).toHaveAttribute(
    'data-item-id',
    previous === undefined ? /^\d+$/ : new RegExp(`^(?!${previous}$)\\d+$`),
  );
  return Number(await item.getAttribute('data-item-id'));
}

async function modelAnswer(page: Page): Promise<number> {
  return Number(await page.getByTestId('top-predictions').locator('li').first().getAttribute('data-class-index'));
}

test('npm start seeded the digits beside Fashion-MNIST: its own classes, holdout and shipped model', async ({
  reviewerPage: page,
}) => {
  const catalogues = await queryAll<{ slug: string; class_names: string }>(
    'select slug, class_names from catalogues order by id',
  );
  // The two seeded first; specs that ran before this one may have added catalogues after them.
  expect(catalogues.slice(0, 2).map((c) => c.slug)).toEqual(['fashion-mnist', SLUG]);
  expect(JSON.parse(catalogues[1]!.class_names)).toEqual(DIGITS);
  expect(
    await queryAll(
      `select i.eval_role as role, count(*) as n from items i join catalogues c on c.id = i.catalogue_id
       where c.slug = ? group by i.eval_role order by i.eval_role`,
      SLUG,
    ),
  ).toEqual([
    { role: null, n: 1000 },
    { role: 'holdout', n: 1000 },
  ]);
  expect(
    queryOne(
      `select m.name, m.arch from model_versions m join catalogues c on c.id = m.catalogue_id
       where c.slug = ? and m.status = 'active'`,
      SLUG,
    ),
  ).toEqual({ name: 'shipped-cnn', arch: 'cnn' });

  // The home page lists both; each has its own Review link.
  await page.goto('/');
  const summary = page.getByTestId('catalogue-summary');
  await expect(summary.getByRole('link', { name: 'Fashion-MNIST (demo)' })).toBeVisible();
  const row = summary.getByRole('row').filter({ hasText: NAME });
  await expect(row.getByRole('link', { name: 'Review' })).toHaveAttribute('href', `/review?catalogue=${SLUG}`);
});

test('a reviewer switches to the digits, decides three, and they land in its catalogue and dashboard', async ({
  reviewerPage: page,
  opsPage,
}) => {
  const fashionBefore = (await humanDecisions('fashion-mnist')).length;
  const digitsBefore = (await humanDecisions(SLUG)).length;

  // The review page opens on the oldest catalogue; the switcher names both.
  await page.goto('/review');
  const switcher = page.getByRole('navigation', { name: 'Catalogues' });
  await expect(switcher.locator('[aria-current=page]')).toHaveText('Fashion-MNIST (demo)');
  await switcher.getByRole('link', { name: NAME }).click();
  await expect(page).toHaveURL(new RegExp(`/review\\?catalogue=${SLUG}$`));
  await expect(switcher.locator('[aria-current=page]')).toHaveText(NAME);

  const item = page.getByTestId('review-item');
  const message = page.getByTestId('review-message');
  const first = await shownItem(item);
  expect(catalogueOfItem(first)).toBe(SLUG);
  // The model's answers are digits, not clothes.
  const answers = page.getByTestId('top-predictions').locator('li');
  await expect(answers).toHaveCount(3);
  for (const text of await answers.allTextContents())
    expect(text).not.toMatch(/T-shirt|Trouser|Pullover|Dress|Coat|Sandal|Shirt|Sneaker|Bag|Ankle boot/);

  // Confirm, correct, confirm.
  const firstAnswer = await modelAnswer(page);
  await page.keyboard.press('Enter');
  const second = await shownItem(item, first);
  await expect(message).toContainText(`Item #${first}: confirmed`);
  const secondAnswer = await modelAnswer(page);
  const chosen = secondAnswer === 0 ? 1 : 0;
  await page.keyboard.press(String(chosen + 1));
  const third = await shownItem(item, second);
  await expect(message).toContainText(`Item #${second}: corrected to ${DIGITS[chosen]}`);
  const thirdAnswer = await modelAnswer(page);
  await page.keyboard.press('Enter');
  await expect(message).toContainText(`Item #${third}: confirmed`);

  expect((await humanDecisions(SLUG)).slice(digitsBefore)).toEqual([
    { item: first, action: 'confirm', chosen: firstAnswer, model: firstAnswer },
    { item: second, action: 'correct', chosen, model: secondAnswer },
    { item: third, action: 'confirm', chosen: thirdAnswer, model: thirdAnswer },
  ]);
  expect(await humanDecisions('fashion-mnist')).toHaveLength(fashionBefore);
  for (const [id, label] of [
    [first, firstAnswer],
    [second, chosen],
    [third, thirdAnswer],
  ] as const)
    expect(queryOne('select status, current_label, label_source from items where id = ?', id)).toEqual({
      status: 'reviewed',
      current_label: label,
      label_source: 'human',
    });

  // The catalogue page shows them as human-labelled digits.
  await page.goto(`/catalogues/${SLUG}?labelSource=human`);
  const links = page.getByTestId('items-table').getByTestId('item-link');
  for (const id of [first, second, third])
    await expect(links.filter({ hasText: new RegExp(`^#${id}$`) })).toHaveCount(1);

  // Ops sees them on the digits dashboard; its overrides CSV counts them, by digit.
  await opsPage.goto('/dashboards');
  await opsPage.getByRole('navigation', { name: 'Catalogues' }).getByRole('link', { name: NAME }).click();
  await expect(opsPage.getByTestId('dashboards')).toHaveAttribute('data-slug', SLUG);
  await expect(opsPage.getByTestId('figure-overrides').locator('svg.recharts-surface').first()).toBeVisible();
  await expect(opsPage.getByTestId('figure-holdout-accuracy').getByTestId('figure-source')).toHaveText(
    'from the holdout',
  );
  const [download] = await Promise.all([
    opsPage.waitForEvent('download'),
    opsPage.getByTestId('figure-overrides').getByRole('link', { name: 'Download CSV' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe(`${SLUG}-overrides.csv`);
  const [header, ...rows] = fs
    .readFileSync(await download.path(), 'utf8')
    .trimEnd()
    .split('\r\n')
    .map((line) => line.split(','));
  expect(header!.slice(0, 3)).toEqual(['class', 'decisions', 'overridden']);
  expect(rows.map((r) => r[0])).toEqual(DIGITS);
  const decided = await humanDecisions(SLUG);
  expect(rows.reduce((sum, r) => sum + Number(r[1]), 0)).toBe(decided.length);
  expect(rows.reduce((sum, r) => sum + Number(r[2]), 0)).toBe(decided.filter((d) => d.chosen !== d.model).length);
  expect(Number(rows[secondAnswer]![2])).toBeGreaterThanOrEqual(1);
});

test("an admin changes the digits' threshold on its own: Fashion-MNIST's stays; each catalogue has its own models", async ({
  adminPage: page,
}) => {
  const threshold = (slug: string) =>
    queryOne<{ t: number }>(
      'select s.threshold as t from settings s join catalogues c on c.id = s.catalogue_id where c.slug = ?',
      slug,
    )!.t;
  const fashion = threshold('fashion-mnist');
  const digits = threshold(SLUG);
  const raised = digits < 0.97 ? 0.98 : 0.95;

  await page.goto('/settings');
  const section = page.locator(`[data-testid=threshold-catalogue][data-slug="${SLUG}"]`);
  await expect(section.getByRole('heading', { name: NAME })).toBeVisible();
  await section.getByLabel(/^New threshold/).fill(String(raised));
  await section.getByRole('button', { name: 'Save and re-route' }).click();
  await expect(section.getByTestId('threshold-result')).toContainText(`Threshold ${digits} → ${raised}`);
  expect(threshold(SLUG)).toBe(raised);
  expect(threshold('fashion-mnist')).toBe(fashion);
  await expect(
    page.locator('[data-testid=threshold-catalogue][data-slug="fashion-mnist"]').getByTestId('threshold-current'),
  ).toHaveText(String(fashion));
  // The per-class rules of the digits name digits.
  await expect(page.locator(`[data-testid=routing-rules][data-slug="${SLUG}"]`)).toContainText('9');

  // Back to where it was.
  await section.getByLabel(/^New threshold/).fill(String(digits));
  await section.getByRole('button', { name: 'Save and re-route' }).click();
  await expect(section.getByTestId('threshold-current')).toHaveText(String(digits));

  await page.goto('/models');
  for (const [slug, name] of [
    ['fashion-mnist', 'shipped-cnn'],
    [SLUG, 'shipped-cnn'],
  ] as const) {
    const models = page.locator(`[data-testid=models-catalogue][data-slug="${slug}"]`);
    await expect(models.locator('[data-testid=model-version][data-status=active]')).toHaveAttribute('data-name', name);
  }
});

test('what must fail: a reviewer cannot set the digits threshold, a digit label out of 0-9 is refused', async ({
  reviewerPage: page,
}) => {
  const before = queryOne<{ t: number }>(
    'select s.threshold as t from settings s join catalogues c on c.id = s.catalogue_id where c.slug = ?',
    SLUG,
  )!.t;
  const refused = await page.request.put(`/api/v1/catalogues/${SLUG}/threshold`, { data: { threshold: 0.5 } });
  expect(refused.status()).toBe(403);
  expect(
    queryOne<{ t: number }>(
      'select s.threshold as t from settings s join catalogues c on c.id = s.catalogue_id where c.slug = ?',
      SLUG,
    )!.t,
  ).toBe(before);

  const claim = await page.request.post('/api/v1/queue/claim', { data: { catalogue: SLUG } });
  expect(claim.status()).toBe(200);
  const { item } = (await claim.json()) as { item: { itemId: number } | null };
  expect(item).not.toBeNull();
  const wrong = await page.request.post('/api/v1/reviews', {
    data: { itemId: item!.itemId, action: 'correct', label: 10, clientId: crypto.randomUUID(), durationMs: 1200 },
  });
  expect(wrong.status()).toBe(400);
  expect(((await wrong.json()) as { error: { message: string } }).error.message).toBe(
    'label: this catalogue has classes 0-9.',
  );
  expect(queryOne<{ n: number }>('select count(*) as n from reviews where item_id = ?', item!.itemId)!.n).toBe(0);
  await page.request.post('/api/v1/queue/release', { data: { itemIds: [item!.itemId] } });
});
