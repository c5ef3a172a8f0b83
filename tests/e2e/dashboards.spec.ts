import fs from 'node:fs';
import type { Page } from '@playwright/test';
import { expect, queryAll, queryOne, test } from './fixtures';

// Ops reads the dashboards of the demo catalogue after a reviewer's decisions: the charts
// render (Recharts draws SVG), and a chart's CSV download matches the database.

const SLUG = 'fashion-mnist';

/** Corrects `count` items from the review page by keyboard, so the override figure has data. */
async function correctItems(page: Page, count: number): Promise<void> {
  await page.goto('/review');
  const item = page.getByTestId('review-item');
  for (let i = 0; i < count; i++) {
    await expect(item).toHaveAttribute('data-item-id', /^\d+$/);
    const current = await item.getAttribute('data-item-id');
    const answer = Number(
      await page.getByTestId('top-predictions').locator('li').first().getAttribute('data-class-index'),
    );
    await page.keyboard.press(String((answer === 0 ? 1 : 0) + 1));
    await expect(page.getByTestId('review-message')).toContainText(`Item #${current}: corrected to`);
  }
}

function parseCsv(text: string): string[][] {
  return text
    .trimEnd()
    .split('\r\n')
    .map((line) => line.split(','));
}

test('ops sees the charts, each with its data source, and a CSV download matches the database', async ({
  reviewerPage,
  opsPage: page,
}) => {
  await correctItems(reviewerPage, 3);

  await page.goto(`/dashboards?catalogue=${SLUG}`);
  await expect(page.getByRole('link', { name: 'Dashboards' })).toBeVisible();
  await expect(page.getByTestId('dashboards')).toHaveAttribute('data-slug', SLUG);
  for (const id of ['queue-flow', 'overrides', 'class-metrics-reviewed']) {
    await expect(page.getByTestId(`figure-${id}`).locator('svg.recharts-surface').first()).toBeVisible();
  }
  await expect(page.getByTestId('figure-overrides').getByTestId('figure-source')).toHaveText(
    'from reviewed items (biased toward hard items)',
  );
  await expect(page.getByTestId('figure-holdout-accuracy').getByTestId('figure-source')).toHaveText('from the holdout');
  await expect(page.getByTestId('figure-confusion-reviewed').getByTestId('confusion-matrix')).toBeVisible();

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('figure-overrides').getByRole('link', { name: 'Download CSV' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe(`${SLUG}-overrides.csv`);
  const [header, ...rows] = parseCsv(fs.readFileSync(await download.path(), 'utf8'));
  expect(header).toEqual(['class', 'decisions', 'overridden', 'overrideRate']);
  const classNames = JSON.parse(
    queryOne<{ class_names: string }>('select class_names from catalogues where slug = ?', SLUG)!.class_names,
  ) as string[];
  const fromDb = await queryAll<{ model: number; decisions: number; overridden: number }>(
    `select r.model_label as model, count(*) as decisions, sum(r.chosen_label != r.model_label) as overridden
     from reviews r join items i on i.id = r.item_id join catalogues c on c.id = i.catalogue_id
     where c.slug = ? and r.action in ('confirm', 'correct') and r.model_label is not null and r.chosen_label is not null
       and not exists (select 1 from reviews u where u.reverts_review_id = r.id)
     group by r.model_label`,
    SLUG,
  );
  expect(fromDb.reduce((sum, r) => sum + r.overridden, 0)).toBeGreaterThanOrEqual(3);
  const expected = classNames.map((name, c) => {
    const n = fromDb.find((r) => r.model === c);
    return [name, String(n?.decisions ?? 0), String(n?.overridden ?? 0)];
  });
  expect(rows.map((r) => r.slice(0, 3))).toEqual(expected);

  // The queue figure's CSV, fetched as the link would: the depth is the database's.
  const queueNow = parseCsv(
    await (await page.request.get(`/api/v1/catalogues/${SLUG}/dashboards/queue-now.csv`)).text(),
  );
  const waiting = queryOne<{ n: number }>(
    "select count(*) as n from items i join catalogues c on c.id = i.catalogue_id where c.slug = ? and i.status = 'needs_review'",
    SLUG,
  )!.n;
  expect(Number(queueNow[1]![0])).toBe(waiting);
});

test('a reviewer gets the Forbidden page and a 403 from the CSV route', async ({ reviewerPage: page }) => {
  await page.goto(`/dashboards?catalogue=${SLUG}`);
  await expect(page.getByTestId('forbidden')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Dashboards' })).toHaveCount(0);
  expect((await page.request.get(`/api/v1/catalogues/${SLUG}/dashboards/overrides.csv`)).status()).toBe(403);
});
