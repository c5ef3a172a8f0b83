import Database from 'better-sqlite3';
import type { Locator, Page } from '@playwright/test';
import { E2E } from './e2e-env';
import { expect, queryAll, queryOne, signInAs, test } from './fixtures';

// Issue 16, admins and ops: confirmations in the app's dialog, re-scoring followed live, a
// catalogue without a model saying what to do, jargon explained, charts that explain
// themselves, a threshold saved from the projection, and a warning before a save that moves
// many items.

const SLUG = 'fashion-mnist';

function storedThreshold(): number {
  return queryOne<{ t: number }>(
    'select s.threshold as t from settings s join catalogues c on c.id = s.catalogue_id where c.slug = ?',
    SLUG,
  )!.t;
}

function settingsChangeCount(): number {
  return queryOne<{ n: number }>('select count(*) as n from settings_changes')!.n;
}

function activeVersion(): { id: number; name: string } {
  return queryOne<{ id: number; name: string }>(
    "select m.id, m.name from model_versions m join catalogues c on c.id = m.catalogue_id where c.slug = ? and m.status = 'active'",
    SLUG,
  )!;
}

/** Held-out items the active model has no stored prediction for: the projection waits for none. */
function holdoutWithoutPrediction(): number {
  return queryOne<{ n: number }>(
    `select count(*) as n from items i join catalogues c on c.id = i.catalogue_id
     where c.slug = ? and i.eval_role = 'holdout' and not exists (
       select 1 from predictions p join model_versions m on m.id = p.model_version_id
       where p.item_id = i.id and m.status = 'active')`,
    SLUG,
  )!.n;
}

/**
 * A second version of the demo model to promote: the active one's weights under a new name, as
 * a candidate. Written straight into the server's database (the only way to get a candidate
 * without minutes of training); promoting it runs the real promotion and the real re-scoring.
 */
function insertCandidate(name: string): number {
  const db = new Database(E2E.dbPath, { fileMustExist: true });
  db.pragma('busy_timeout = 10000');
  try {
    const active = activeVersion();
    return Number(
      db
        .prepare(
          `insert into model_versions (catalogue_id, name, arch, parent_id, weights_path, temperature, metrics, status, created_at)
           select catalogue_id, ?, arch, id, weights_path, temperature, metrics, 'candidate', ? from model_versions where id = ?`,
        )
        .run(name, Date.now(), active.id).lastInsertRowid,
    );
  } finally {
    db.close();
  }
}

const inDialog = (page: Page) => page.evaluate(() => document.activeElement?.closest('dialog') !== null);

test('promote and roll back ask in an accessible dialog (Escape cancels, focus stays inside), and the re-scoring shows its progress', async ({
  adminPage: page,
}) => {
  test.setTimeout(240_000);
  const shipped = activeVersion();
  const candidateName = `e2e-candidate-${Date.now()}`;
  insertCandidate(candidateName);
  await page.goto('/models');
  const section = page.locator(`[data-testid=models-catalogue][data-slug="${SLUG}"]`);
  const row = section.locator(`[data-testid=model-version][data-name="${candidateName}"]`);
  await expect(row).toHaveAttribute('data-status', 'candidate');
  const promote = row.getByRole('button', { name: 'Promote' });
  const dialog = page.getByRole('dialog');

  // Escape answers no: nothing changes, the dialog is gone and focus is back on the button.
  await promote.click();
  await expect(dialog).toBeVisible();
  await expect(dialog.getByRole('heading')).toHaveText(`Promote ${candidateName}?`);
  await expect(dialog).toContainText('Every item not labelled by a person is then re-scored');
  await expect(dialog.getByRole('button', { name: 'Cancel' })).toBeFocused();
  // Tab and Shift+Tab go round the dialog's two buttons, never out to the page behind.
  for (const key of ['Tab', 'Tab', 'Tab', 'Shift+Tab', 'Shift+Tab', 'Shift+Tab']) {
    await page.keyboard.press(key);
    expect(await inDialog(page)).toBe(true);
  }
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(promote).toBeFocused();
  await expect(row).toHaveAttribute('data-status', 'candidate');
  expect(activeVersion().id).toBe(shipped.id);
  // Cancel answers no too.
  await promote.click();
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(dialog).toBeHidden();
  expect(activeVersion().id).toBe(shipped.id);

  // Yes: promoted, and its re-scoring job shows in the panel, followed live to its result.
  await promote.click();
  await dialog.getByRole('button', { name: 'Promote' }).click();
  await expect(row.getByTestId('promote-result')).toContainText(`${candidateName} is active (${shipped.name} retired)`);
  const rescoreJobId = Number((await row.getByTestId('promote-result').textContent())!.match(/job #(\d+)/)![1]);
  const job = section.locator(`[data-testid=training-job][data-job-id="${rescoreJobId}"]`);
  await expect(job).toHaveAttribute('data-kind', 'rescore');
  await expect(job).toContainText(`Re-scoring job #${rescoreJobId}`);
  await expect(job).toContainText('after a promotion or a rollback');
  // The new version predicts every routable item: long enough to watch it count.
  const progress = job.getByTestId('training-progress');
  await expect(progress).toHaveAttribute('data-phase', 'rescoring', { timeout: 60_000 });
  await expect(progress).toContainText(/[\d,]+ of [\d,]+ items/);
  await expect(job.getByTestId('job-progress-bar')).toBeVisible();
  await expect(job).toHaveAttribute('data-status', 'succeeded', { timeout: 180_000 });
  const result = JSON.parse(
    queryOne<{ progress: string }>('select progress from jobs where id = ?', rescoreJobId)!.progress,
  ) as {
    predicted: number;
    reused: number;
    entered: number;
    left: number;
  };
  expect(result.predicted).toBeGreaterThan(1000);
  await expect(job.getByTestId('job-result')).toHaveText(
    `Re-scored ${(result.predicted + result.reused).toLocaleString('en')} items (${result.predicted.toLocaleString('en')} predicted, ${result.reused.toLocaleString('en')} predictions reused): ${result.entered.toLocaleString('en')} entered the review queue, ${result.left.toLocaleString('en')} left it.`,
  );

  // Roll back, confirmed in the dialog: the shipped model's stored predictions are reused.
  const shippedRow = section.locator(`[data-testid=model-version][data-name="${shipped.name}"]`);
  await shippedRow.getByRole('button', { name: 'Roll back to this' }).click();
  await expect(dialog.getByRole('heading')).toHaveText(`Roll back to ${shipped.name}?`);
  await dialog.getByRole('button', { name: 'Roll back' }).click();
  await expect(shippedRow).toHaveAttribute('data-status', 'active');
  expect(activeVersion().id).toBe(shipped.id);
  await expect
    .poll(
      () =>
        queryOne<{ n: number }>(
          "select count(*) as n from jobs where kind = 'score' and status in ('queued', 'running')",
        )!.n,
      { timeout: 120_000, intervals: [1000] },
    )
    .toBe(0);
});

test('a catalogue without a model says what to do next; jargon explains itself on hover, focus and tap', async ({
  adminPage: page,
  opsPage,
}) => {
  const slug = `zz-e2e-no-model-${Date.now()}`;
  await page.goto('/import');
  await page.getByLabel('A new catalogue').check();
  await page.getByLabel(/^Slug/).fill(slug);
  await page.getByLabel('Name', { exact: true }).fill('Zz no model yet');
  await page.getByLabel(/^Class names/).fill('odd\neven');
  const header = ['label', ...Array.from({ length: 784 }, (_, i) => `pixel${i + 1}`)].join(',');
  const rows = [1, 2].map((n) => [n % 2, ...Array.from({ length: 784 }, (_, i) => (i * n) % 256)].join(','));
  await page
    .getByLabel('CSV file')
    .setInputFiles({ name: 'two.csv', mimeType: 'text/csv', buffer: Buffer.from(`${header}\n${rows.join('\n')}\n`) });
  await page.getByRole('button', { name: 'Upload and import' }).click();
  await expect(page.getByTestId('import-inserted')).toHaveText('2 new items');

  await page.goto('/models');
  const empty = page.locator(`[data-testid=models-catalogue][data-slug="${slug}"]`).getByTestId('no-model');
  await expect(empty).toContainText('No model yet.');
  await expect(empty).toContainText(`npm run register-model -- --catalogue ${slug} --model models/${slug}`);
  await expect(empty).toContainText('npm run train -- --arch cnn');
  await opsPage.goto('/models');
  await expect(
    opsPage.locator(`[data-testid=models-catalogue][data-slug="${slug}"]`).getByTestId('no-model'),
  ).toContainText('An admin registers its first model');

  // Jargon: ECE explained on hover, on keyboard focus and on a tap; Escape hides it.
  const table = page.locator(`[data-testid=models-catalogue][data-slug="${SLUG}"]`).getByTestId('model-versions');
  const ece = table.getByRole('button', { name: 'ECE', exact: true });
  const tooltip = page.getByRole('tooltip').filter({ hasText: 'expected calibration error' });
  await expect(tooltip).toBeHidden();
  await ece.hover();
  await expect(tooltip).toBeVisible();
  await expect(ece).toHaveAccessibleDescription(/^ECE, expected calibration error: /);
  await page.mouse.move(0, 0);
  await expect(tooltip).toBeHidden();
  await ece.focus();
  await expect(tooltip).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(tooltip).toBeHidden();
  await ece.blur();
  await page.mouse.move(0, 0);
  // A tap (touch has no hover) pins it.
  await ece.dispatchEvent('click');
  await expect(tooltip).toBeVisible();
  const t = table.getByRole('button', { name: 'T', exact: true }).first();
  await expect(t).toHaveAccessibleDescription(/temperature/);
});

/**
 * Points at a spot of a chart until its tooltip shows: the chart reacts to pointer moves only
 * once hydrated and measured, so a single early move can go unseen.
 */
async function hoverUntilTooltip(page: Page, area: Locator, tooltip: Locator, at: { x: number; y: number }) {
  // Mouse coordinates are the viewport's: a chart below the fold would never see the pointer.
  await area.scrollIntoViewIfNeeded();
  await expect(async () => {
    const box = (await area.boundingBox())!;
    await page.mouse.move(box.x + box.width * at.x - 3, box.y + box.height * at.y);
    await page.mouse.move(box.x + box.width * at.x, box.y + box.height * at.y);
    await expect(tooltip).toBeVisible({ timeout: 1000 });
  }).toPass({ timeout: 20_000 });
}

/** The tick labels of one axis, as drawn. */
async function tickLabels(axis: Locator): Promise<string[]> {
  return (await axis.locator('.recharts-cartesian-axis-tick-value').allTextContents()).map((s) => s.trim());
}

test('charts: axis titles with units, which axis each line reads against, round ticks, exact tooltips, time zones', async ({
  adminPage: page,
}) => {
  test.setTimeout(300_000);
  await expect.poll(holdoutWithoutPrediction, { timeout: 240_000, intervals: [2_000] }).toBe(0);
  await page.goto('/settings');
  const chart = page.locator(`[data-testid=threshold-catalogue][data-slug="${SLUG}"]`).getByTestId('projection-chart');
  await expect(chart.locator('svg.recharts-surface').first()).toBeVisible();
  await expect(chart).toContainText('threshold (calibrated confidence, 0–1)');
  await expect(chart).toContainText('share to review (%)');
  await expect(chart).toContainText('accuracy (%)');
  await expect(chart.locator('.recharts-legend-wrapper')).toContainText('share to review (left axis)');
  await expect(chart.locator('.recharts-legend-wrapper')).toContainText('auto-accepted accuracy, holdout (right axis)');
  // Each axis is drawn in the colour of the line read against it.
  const shareLine = await chart.locator('.recharts-line path.recharts-line-curve').first().getAttribute('stroke');
  const leftTitle = chart.locator('text').filter({ hasText: /^share to review \(%\)$/ });
  await expect(leftTitle).toHaveAttribute('fill', shareLine!);
  // Round ticks: 0.50, 0.55, ... on the threshold axis; whole tens of percent for the share.
  const x = await tickLabels(chart.locator('.recharts-xAxis-tick-labels'));
  expect(x.length).toBeGreaterThanOrEqual(5);
  for (const label of x) expect(Math.round(Number(label) * 100) % 5).toBe(0);
  const yLeft = await tickLabels(chart.locator('.recharts-yAxis-tick-labels').first());
  expect(yLeft).toEqual(['0%', '20%', '40%', '60%', '80%', '100%']);
  // The tooltip gives the exact figures at the point under the pointer.
  const tooltip = chart.getByTestId('projection-tooltip');
  await hoverUntilTooltip(page, chart.locator('.recharts-cartesian-grid'), tooltip, { x: 0.6, y: 0.5 });
  await expect(tooltip).toContainText(/^threshold 0\.\d+/);
  await expect(tooltip).toContainText(/share to review: \d+\.\d\d% \([\d,]+ items\)/);
  await expect(tooltip).toContainText(/auto-accepted accuracy: \d+\.\d\d%/);

  // Dashboards: time axes say UTC, tooltips give exact counts, accuracy ticks are round.
  await page.goto(`/dashboards?catalogue=${SLUG}`);
  const flow = page.getByTestId('figure-queue-flow');
  await expect(flow.locator('svg.recharts-surface').first()).toBeVisible();
  await expect(flow).toContainText('hour starting (UTC)');
  await expect(flow).toContainText('items per hour');
  const flowTooltip = flow.locator('.recharts-tooltip-wrapper').filter({ hasText: 'UTC' });
  await hoverUntilTooltip(page, flow.locator('.recharts-cartesian-grid'), flowTooltip, { x: 0.98, y: 0.5 });
  await expect(flow.locator('.recharts-tooltip-wrapper')).toContainText(/\d{4}-\d\d-\d\d \d\d:00–\d\d:00 UTC/);
  await expect(flow.locator('.recharts-tooltip-wrapper')).toContainText(/into the queue : [\d,]+ items/);
  const risk = page.getByTestId('figure-risk-coverage');
  await expect(risk).toContainText('coverage: share auto-accepted (%)');
  for (const label of await tickLabels(risk.locator('.recharts-yAxis-tick-labels')))
    expect(label).toMatch(/^\d+(\.\d)?%$/);
  await expect(page.getByTestId('figure-holdout-accuracy')).toContainText('model version (oldest first)');
});

test('a threshold is saved from the projection itself, with the stale check and the warning before a large move', async ({
  adminPage: page,
  browser,
}) => {
  test.setTimeout(300_000);
  await expect.poll(holdoutWithoutPrediction, { timeout: 240_000, intervals: [2_000] }).toBe(0);
  const original = storedThreshold();
  const staleContext = await browser.newContext();
  const stalePage = await staleContext.newPage();
  await signInAs(stalePage, 'admin');
  await stalePage.goto('/settings');

  await page.goto('/settings');
  const section = page.locator(`[data-testid=threshold-catalogue][data-slug="${SLUG}"]`);
  const proposed = section.getByTestId('proposed-threshold');
  await expect(proposed).toHaveValue(String(original));
  await expect(section.getByTestId('projection-save')).toHaveCount(0);
  // A click on the chart proposes the threshold under the pointer.
  const grid = section.getByTestId('projection-chart').locator('.recharts-cartesian-grid');
  await hoverUntilTooltip(page, grid, section.getByTestId('projection-tooltip'), { x: 0.25, y: 0.5 });
  const box = (await grid.boundingBox())!;
  await page.mouse.click(box.x + box.width * 0.25, box.y + box.height / 2);
  await expect(proposed).not.toHaveValue(String(original));
  const clicked = Number(await proposed.inputValue());
  expect(clicked).toBeGreaterThanOrEqual(0.5);
  expect(clicked).toBeLessThan(0.99);
  await expect(section.getByTestId('projection-save')).toHaveText(`Save ${clicked} as the threshold`);

  // Saved from the chart through the threshold form's action: a big move asks first; no leaves it alone.
  const target = original === 0.97 ? 0.98 : 0.97;
  await proposed.fill(String(target));
  const before = settingsChangeCount();
  await section.getByTestId('projection-save').click();
  const dialog = page.getByRole('dialog');
  await expect(dialog).toContainText(/moves [\d,]+ items: [\d,]+ from auto-accepted into the review queue/);
  const entered = Number((await dialog.getByTestId('confirm-entered').textContent())!.replace(/,/g, ''));
  await dialog.getByRole('button', { name: 'Cancel' }).click();
  await expect(section.getByTestId('projection-save-declined')).toHaveText(
    `Not saved: the threshold stays ${original}.`,
  );
  expect(storedThreshold()).toBe(original);
  expect(settingsChangeCount()).toBe(before);
  await section.getByTestId('projection-save').click();
  await dialog.getByRole('button', { name: /^Save and move [\d,]+ items$/ }).click();
  await expect(section.getByTestId('projection-save-result')).toHaveText(
    `Threshold ${original} → ${target}: ${entered.toLocaleString('en')} entered the review queue, 0 left it.`,
  );
  expect(storedThreshold()).toBe(target);
  await expect(section.getByTestId('threshold-current')).toHaveText(String(target));
  await expect(section.getByLabel(/^New threshold/)).toHaveValue(String(target));

  // The tab loaded before: its save from the chart is refused with the same sentence as the form's.
  const staleSection = stalePage.locator(`[data-testid=threshold-catalogue][data-slug="${SLUG}"]`);
  await staleSection.getByTestId('proposed-threshold').fill('0.6');
  await staleSection.getByTestId('projection-save').click();
  await expect(staleSection.getByTestId('projection-save-error')).toHaveText(
    `The threshold was changed to ${target} by admin@loupe.demo since you loaded this page; reload to see it.`,
  );
  expect(storedThreshold()).toBe(target);
  await staleContext.close();

  // Back, from the threshold form: the same warning, with the items that now leave.
  await section.getByLabel(/^New threshold/).fill(String(original));
  await section.getByRole('button', { name: 'Save and re-route' }).click();
  await expect(dialog).toContainText(`${entered.toLocaleString('en')} out of the queue`);
  await dialog.getByRole('button', { name: /^Save and move/ }).click();
  await expect(section.getByTestId('threshold-result')).toContainText(`Threshold ${target} → ${original}`);
  expect(storedThreshold()).toBe(original);

  // A save that moves few items goes through without asking (a slightly higher audit rate).
  const rules = page.locator(`[data-testid=routing-rules][data-slug="${SLUG}"]`);
  const audit = rules.getByLabel(/^Audit rate/);
  const auditBefore = await audit.inputValue();
  await audit.fill(String(Number(auditBefore) + 0.001));
  await rules.getByRole('button', { name: 'Save rules and re-route' }).click();
  await expect(rules.getByTestId('routing-result')).toContainText('Saved:');
  await expect(dialog).toBeHidden();
  await rules.getByLabel(/^Audit rate/).fill(auditBefore);
  await rules.getByRole('button', { name: 'Save rules and re-route' }).click();
  const auditRate = () =>
    queryOne<{ a: number }>(
      'select s.audit_rate as a from settings s join catalogues c on c.id = s.catalogue_id where c.slug = ?',
      SLUG,
    )!.a;
  await expect.poll(auditRate).toBe(Number(auditBefore));
  await expect(dialog).toBeHidden();
  expect(
    (await queryAll<{ field: string }>('select field from settings_changes order by id desc limit 2')).map(
      (r) => r.field,
    ),
  ).toEqual(['auditRate', 'auditRate']);
});
