import { expect, queryOne, signInAs, test } from './fixtures';
import { acceptMoveWarning } from './move-warning';

// Issue 16: a settings form loaded before another change must not silently save its old value back.

const SLUG = 'fashion-mnist';

function storedThreshold(): number {
  return queryOne<{ t: number }>(
    'select s.threshold as t from settings s join catalogues c on c.id = s.catalogue_id where c.slug = ?',
    SLUG,
  )!.t;
}

/** Held-out items the active model has no stored prediction for: target mode waits for none. */
function holdoutWithoutPrediction(): number {
  return queryOne<{ n: number }>(
    `select count(*) as n from items i join catalogues c on c.id = i.catalogue_id
     where c.slug = ? and i.eval_role = 'holdout' and not exists (
       select 1 from predictions p join model_versions m on m.id = p.model_version_id
       where p.item_id = i.id and m.status = 'active')`,
    SLUG,
  )!.n;
}

test('after target mode saves, the threshold form shows the new value; a tab loaded before gets the 409 sentence', async ({
  adminPage: page,
  browser,
}) => {
  test.setTimeout(300_000);
  // The worker stores the active model's holdout predictions after start-up.
  await expect.poll(holdoutWithoutPrediction, { timeout: 240_000, intervals: [2_000] }).toBe(0);

  const original = storedThreshold();
  // A second admin tab, loaded now: everything below happens after it loaded.
  const otherContext = await browser.newContext();
  const stalePage = await otherContext.newPage();
  await signInAs(stalePage, 'admin');
  await stalePage.goto('/settings');

  await page.goto('/settings');
  const section = page.locator(`[data-testid=threshold-catalogue][data-slug="${SLUG}"]`);
  const input = section.getByLabel(/^New threshold/);
  await input.fill('0.55');
  await section.getByRole('button', { name: 'Save and re-route' }).click();
  await acceptMoveWarning(page, section.getByTestId('threshold-result').filter({ hasText: '→ 0.55:' }));
  await expect(section.getByTestId('threshold-result')).toContainText(`Threshold ${original} → 0.55`);

  await section.getByLabel(/^Target accuracy/).fill('97');
  await section.getByRole('button', { name: 'Pick the lowest threshold and save' }).click();
  await acceptMoveWarning(page, section.getByTestId('target-result').filter({ hasText: 'Threshold 0.55 → ' }));
  await expect(section.getByTestId('target-result')).toContainText('Threshold 0.55 → ');
  const picked = storedThreshold();
  expect(picked).not.toBe(0.55);
  // The box shows what is saved now, and the fixed form's old message is gone.
  await expect(input).toHaveValue(String(picked));
  await expect(section.getByTestId('threshold-current')).toHaveText(String(picked));
  await expect(section.getByTestId('threshold-result')).toHaveCount(0);

  // The tab loaded before both changes: its Save is refused with who changed what, and nothing changes.
  const staleSection = stalePage.locator(`[data-testid=threshold-catalogue][data-slug="${SLUG}"]`);
  await expect(staleSection.getByLabel(/^New threshold/)).toHaveValue(String(original));
  await staleSection.getByLabel(/^New threshold/).fill('0.6');
  await staleSection.getByRole('button', { name: 'Save and re-route' }).click();
  await expect(staleSection.getByTestId('threshold-error')).toHaveText(
    `The threshold was changed to ${picked} by admin@loupe.demo since you loaded this page; reload to see it.`,
  );
  // Target mode from the stale tab is refused the same way.
  await staleSection.getByRole('button', { name: 'Pick the lowest threshold and save' }).click();
  await expect(staleSection.getByTestId('target-error')).toContainText(`The threshold was changed to ${picked}`);
  expect(storedThreshold()).toBe(picked);

  // After a reload it saves; back to where it was, so other specs see the seeded queue.
  await stalePage.reload();
  await staleSection.getByLabel(/^New threshold/).fill(String(original));
  await staleSection.getByRole('button', { name: 'Save and re-route' }).click();
  await acceptMoveWarning(
    stalePage,
    staleSection.getByTestId('threshold-result').filter({ hasText: `→ ${original}:` }),
  );
  await expect(staleSection.getByTestId('threshold-result')).toContainText(`Threshold ${picked} → ${original}`);
  expect(storedThreshold()).toBe(original);
  await otherContext.close();
});
