import fs from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { isHeldOutHumanLabel } from '@/lib/learning/split';
import { expect, queryAll, queryOne, test } from './fixtures';

// The learning loop from the browser: a reviewer's corrections, an admin's "train now", the
// real worker fine-tuning (started by the e2e server), the new version on the models page,
// promote and roll back; and who may see or do which of it.

const SLUG = 'fashion-mnist';

async function nextItemId(item: Locator, previous?: number): Promise<number> {
  const other = previous === undefined ? /^\d+$/ : new RegExp(`^(?!${previous}$)\\d+$`);
  await expect(item).toHaveAttribute('data-item-id', other);
  return Number(await item.getAttribute('data-item-id'));
}

/** The catalogue's human labels as training splits them: enough to train on and to measure with? */
async function humanLabelSplit(): Promise<{ train: number; heldOut: number }> {
  const ids = (
    await queryAll<{ id: number }>(
      "select i.id from items i join catalogues c on c.id = i.catalogue_id where c.slug = ? and i.label_source = 'human' and i.eval_role is null",
      SLUG,
    )
  ).map((r) => r.id);
  const heldOut = ids.filter(isHeldOutHumanLabel).length;
  return { train: ids.length - heldOut, heldOut };
}

/** Corrects items by keyboard (a number key naming another class) until the gate can measure a candidate. */
async function correctUntilTrainable(page: Page): Promise<number> {
  await page.goto('/review');
  const item = page.getByTestId('review-item');
  let current = await nextItemId(item);
  let corrected = 0;
  for (; corrected < 60;) {
    const split = await humanLabelSplit();
    if (corrected >= 4 && split.heldOut >= 1 && split.train >= 3) break;
    const answer = Number(
      await page.getByTestId('top-predictions').locator('li').first().getAttribute('data-class-index'),
    );
    const chosen = answer === 0 ? 1 : 0;
    await page.keyboard.press(String(chosen + 1));
    await expect(page.getByTestId('review-message')).toContainText(`Item #${current}: corrected to`);
    corrected++;
    expect(queryOne('select status, current_label, label_source from items where id = ?', current)).toEqual({
      status: 'reviewed',
      current_label: chosen,
      label_source: 'human',
    });
    current = await nextItemId(item, current);
  }
  return corrected;
}

const versionRows = (page: Page) =>
  page.locator(`[data-testid=models-catalogue][data-slug="${SLUG}"]`).getByTestId('model-version');

test('a reviewer corrects by keyboard, an admin trains now, an open models page follows the progress and shows the new version; promote anyway, then roll back', async ({
  reviewerPage,
  adminPage: page,
}) => {
  // Fine-tuning, measuring on the 5,000-item holdout and re-scoring 10,000 items on two shared cores.
  test.setTimeout(12 * 60_000);
  const corrected = await correctUntilTrainable(reviewerPage);
  expect(corrected).toBeGreaterThanOrEqual(4);

  await page.goto('/models');
  const section = page.locator(`[data-testid=models-catalogue][data-slug="${SLUG}"]`);
  await expect(section.getByTestId('new-labels')).toContainText(/^\d+ new human labels? since the last training/);
  const before = await versionRows(page).count();
  expect(before).toBeGreaterThanOrEqual(1);
  const shipped = queryOne<{ id: number; name: string }>(
    "select m.id, m.name from model_versions m join catalogues c on c.id = m.catalogue_id where c.slug = ? and m.status = 'active'",
    SLUG,
  )!;

  // The training is queued from a second tab: this page, loaded while nothing was live, must
  // notice it by itself, as it must notice a training the worker starts on its own.
  const tab = await page.context().newPage();
  await tab.goto('/models');
  const tabSection = tab.locator(`[data-testid=models-catalogue][data-slug="${SLUG}"]`);
  await tabSection.getByRole('button', { name: 'Train now' }).click();
  await expect(tabSection.getByTestId('train-result')).toHaveText(/^Training job #\d+ queued\.$/);
  const jobId = Number((await tabSection.getByTestId('train-result').textContent())!.match(/#(\d+)/)![1]);
  // Pressing it again right away, while the job waits or runs, gets the same job, never a second one.
  await tabSection.getByRole('button', { name: 'Train now' }).click();
  await expect(tabSection.getByTestId('train-result')).toHaveText(
    `Training job #${jobId} is already queued or running.`,
  );
  // Live progress, polled every 2 s from the jobs route by the page that queued it. (A page
  // loaded while nothing was live polls every 10 s, and a fine-tune of these few labels can end
  // sooner: that page is checked below for noticing the job and its end.)
  const tabJob = tabSection.locator(`[data-testid=training-job][data-job-id="${jobId}"]`);
  await expect(tabJob.getByTestId('training-progress')).toBeVisible({ timeout: 3 * 60_000 });
  await expect(tabJob.getByTestId('training-progress')).toHaveAttribute(
    'data-phase',
    /preparing|training|evaluating|deciding|rescoring/,
  );
  await tab.close();
  const job = section.locator(`[data-testid=training-job][data-job-id="${jobId}"]`);

  // The new version row appears when the job ends (the page refreshes itself).
  await expect(versionRows(page)).toHaveCount(before + 1, { timeout: 8 * 60_000 });
  await expect(job).toHaveAttribute('data-status', 'succeeded');
  const candidate = queryOne<{ id: number; name: string; status: string; metrics: string }>(
    'select id, name, status, metrics from model_versions order by id desc limit 1',
  )!;
  expect(['active', 'rejected']).toContain(candidate.status);
  const metrics = JSON.parse(candidate.metrics) as { humanLabelsUsed: number; decision: { reason: string } };
  expect(metrics.humanLabelsUsed).toBeGreaterThanOrEqual(3);
  const row = section.locator(`[data-testid=model-version][data-name="${candidate.name}"]`);
  await expect(row).toHaveAttribute('data-status', candidate.status);
  await expect(row.getByTestId('gate-reason')).toHaveText(metrics.decision.reason);
  await expect(row.getByTestId('holdout-accuracy')).toContainText('of 5,000');
  await expect(job.getByTestId('job-result')).toContainText(metrics.decision.reason);

  // A candidate the gate rejected: its job ran to the end (succeeded) and reads "rejected".
  await expect(job).toHaveAttribute('data-outcome', candidate.status === 'rejected' ? 'rejected' : 'promoted');
  await expect(job.getByTestId('job-outcome')).toHaveText(candidate.status === 'rejected' ? 'rejected' : 'promoted');
  const dialog = page.getByRole('dialog');
  if (candidate.status === 'rejected') {
    // An admin may override the gate (after a confirmation); the re-score is queued with it.
    await row.getByRole('button', { name: 'Promote anyway' }).click();
    await expect(dialog).toContainText(metrics.decision.reason);
    await dialog.getByRole('button', { name: 'Promote anyway' }).click();
    await expect(row.getByTestId('promote-result')).toContainText(
      `${candidate.name} is active (${shipped.name} retired); re-scoring queued as job #`,
    );
    await expect(row).toHaveAttribute('data-status', 'active');
  }
  expect(
    queryOne<{ id: number }>(
      "select id from model_versions where status = 'active' and catalogue_id = (select id from catalogues where slug = ?)",
      SLUG,
    )?.id,
  ).toBe(candidate.id);

  // Roll back to the shipped model in one action.
  const shippedRow = section.locator(`[data-testid=model-version][data-name="${shipped.name}"]`);
  await shippedRow.getByRole('button', { name: 'Roll back to this' }).click();
  await dialog.getByRole('button', { name: 'Roll back' }).click();
  await expect(shippedRow.getByTestId('promote-result')).toContainText(
    `${shipped.name} is active (${candidate.name} retired)`,
  );
  await expect(shippedRow).toHaveAttribute('data-status', 'active');
  expect(
    queryOne<{ id: number }>(
      "select id from model_versions where status = 'active' and catalogue_id = (select id from catalogues where slug = ?)",
      SLUG,
    )?.id,
  ).toBe(shipped.id);
  // Let the worker finish re-scoring before the next specs use the queue.
  await expect
    .poll(
      () =>
        queryOne<{ n: number }>(
          "select count(*) as n from jobs where kind = 'score' and status in ('queued', 'running')",
        )!.n,
      { timeout: 4 * 60_000, intervals: [2000] },
    )
    .toBe(0);
  expect(
    (
      await queryAll<{ status: string }>(
        "select status from jobs where kind = 'score' and json_extract(payload, '$.rescore') = 1",
      )
    ).every((j) => j.status === 'succeeded'),
  ).toBe(true);
});

test('ops sees the model list but no buttons, and the promote, train and jobs routes refuse them', async ({
  opsPage: page,
}) => {
  await page.goto('/models');
  const section = page.locator(`[data-testid=models-catalogue][data-slug="${SLUG}"]`);
  await expect(section.getByTestId('model-version').first()).toBeVisible();
  await expect(section.getByTestId('model-status').filter({ hasText: 'active' })).toHaveCount(1);
  await expect(page.getByRole('button', { name: /Promote|Roll back|Train now/ })).toHaveCount(0);
  await expect(page.getByTestId('training-panel')).toHaveCount(0);

  // Every version saved now has an int8 export; ops may take the active one's away.
  const active = section.locator('[data-testid=model-version][data-status="active"]');
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    active.getByTestId('model-download').getByRole('link', { name: 'ONNX int8' }).click(),
  ]);
  expect(download.suggestedFilename()).toMatch(/^fashion-mnist-.*\.int8\.onnx$/);
  const activeDir = queryOne<{ dir: string }>(
    "select weights_path as dir from model_versions where status = 'active' and catalogue_id = (select id from catalogues where slug = ?)",
    SLUG,
  )!.dir;
  expect(
    fs.readFileSync((await download.path())!).equals(fs.readFileSync(path.join(activeDir, 'model.int8.onnx'))),
  ).toBe(true);

  const list = await page.request.get(`/api/v1/catalogues/${SLUG}/models`);
  expect(list.status()).toBe(200);
  const { versions } = (await list.json()) as { versions: { id: number; status: string }[] };
  expect(versions.some((v) => v.status === 'active')).toBe(true);
  const target = versions.find((v) => v.status !== 'active') ?? versions[0]!;
  const before = queryOne<{ n: number }>('select count(*) as n from jobs')!.n;
  for (const response of [
    await page.request.post(`/api/v1/models/${target.id}/promote`),
    await page.request.post(`/api/v1/catalogues/${SLUG}/train`),
    await page.request.get('/api/v1/jobs'),
  ]) {
    expect(response.status()).toBe(403);
    expect((await response.json()).error.code).toBe('forbidden');
  }
  expect(queryOne<{ n: number }>('select count(*) as n from jobs')!.n).toBe(before);
});

test('a reviewer gets the Forbidden page on /models and 403 from the models routes', async ({ reviewerPage: page }) => {
  await page.goto('/models');
  await expect(page.getByTestId('forbidden')).toContainText('dashboards.read');
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Models' })).toHaveCount(0);
  expect((await page.request.get(`/api/v1/catalogues/${SLUG}/models`)).status()).toBe(403);
  expect((await page.request.post(`/api/v1/catalogues/${SLUG}/train`)).status()).toBe(403);
});

test('the admin routes answer bad input with a sentence', async ({ adminPage: page }) => {
  const badId = await page.request.post('/api/v1/models/abc/promote');
  expect(badId.status()).toBe(400);
  expect((await badId.json()).error.message).toBe('id: the model version id is a positive whole number');
  expect((await page.request.post('/api/v1/models/999999/promote')).status()).toBe(404);
  expect((await page.request.post('/api/v1/catalogues/no-such-catalogue/train')).status()).toBe(404);
  const badKind = await page.request.get('/api/v1/jobs?kind=bake');
  expect(badKind.status()).toBe(400);
  expect((await badKind.json()).error.message).toBe('kind: must be one of import, score, train, evaluate, lab');
  const jobs = await page.request.get(`/api/v1/jobs?catalogue=${SLUG}&kind=train`);
  expect(jobs.status()).toBe(200);
  expect(((await jobs.json()) as { jobs: { kind: string }[] }).jobs.every((j) => j.kind === 'train')).toBe(true);
});

test('an admin saves the retrain policy with its history; a bad value is refused with a sentence', async ({
  adminPage: page,
}) => {
  const policyOf = () =>
    JSON.parse(
      queryOne<{ p: string }>(
        'select s.retrain_policy as p from settings s join catalogues c on c.id = s.catalogue_id where c.slug = ?',
        SLUG,
      )?.p ?? '{}',
    ) as Record<string, unknown>;
  await page.goto('/settings');
  const block = page.locator(`[data-testid=retrain-policy][data-slug="${SLUG}"]`);
  const minLabels = block.getByLabel('after this many new human labels');
  const timer = block.getByLabel(/or every N minutes/);
  const save = block.getByRole('button', { name: 'Save policy' });
  await expect(minLabels).toHaveValue('200');

  await timer.fill('2');
  await save.click();
  await expect(block.getByTestId('policy-error')).toHaveText(
    'intervalMinutes: must be off (empty) or a whole number of minutes from 5 to 43,200 (30 days), e.g. 1440 for daily',
  );
  expect(policyOf().intervalMinutes ?? null).toBeNull();

  await minLabels.fill('500');
  await timer.fill('1440');
  await save.click();
  await expect(block.getByTestId('policy-result')).toHaveText('Saved: new labels to retrain, timer (minutes).');
  expect(policyOf()).toMatchObject({
    enabled: true,
    minNewLabels: 500,
    intervalMinutes: 1440,
    maxHoldoutDropPoints: 0.2,
  });
  await expect(block.getByTestId('policy-history')).toContainText('admin@loupe.demonew labels to retrain: 200 → 500');
  await expect(block.getByTestId('policy-history')).toContainText('timer (minutes): off → 1440');

  // Back to the defaults, so the rest of the suite runs under them.
  await minLabels.fill('200');
  await timer.fill('');
  await save.click();
  // The same sentence as before: wait for the database instead.
  await expect.poll(() => policyOf().minNewLabels).toBe(200);
  expect(policyOf().intervalMinutes).toBeNull();
});
