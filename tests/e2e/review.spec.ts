import type { Locator, Page } from '@playwright/test';
import { expect, queryAll, queryOne, test } from './fixtures';

// The reviewer's two pages driven as a person would, with the database checked behind them.

interface ReviewRow {
  action: string;
  chosen_label: number | null;
  model_label: number | null;
  reverts_review_id: number | null;
}

async function reviewsOf(itemId: number): Promise<ReviewRow[]> {
  return await queryAll<ReviewRow>(
    'select action, chosen_label, model_label, reverts_review_id from reviews where item_id = ? order by id',
    itemId,
  );
}

/** Waits until the focus view shows an item other than `previous` and returns its id. */
async function nextItemId(item: Locator, previous?: number): Promise<number> {
  const other = previous === undefined ? /^\d+$/ : new RegExp(`^(?!${previous}$)\\d+$`);
  await expect(item).toHaveAttribute('data-item-id', other);
  return Number(await item.getAttribute('data-item-id'));
}

async function modelAnswer(page: Page): Promise<number> {
  return Number(await page.getByTestId('top-predictions').locator('li').first().getAttribute('data-class-index'));
}

async function decisionsToday(page: Page): Promise<number> {
  const stat = page.getByTestId('stats-decisions');
  await expect(stat).toHaveText(/^\d+$/);
  return Number(await stat.textContent());
}

test('a reviewer confirms with Enter, corrects with a number key and undoes with Z; the database follows', async ({
  reviewerPage: page,
}) => {
  await page.goto('/review');
  const item = page.getByTestId('review-item');
  const message = page.getByTestId('review-message');
  const first = await nextItemId(item);
  await expect(page.getByTestId('top-predictions').locator('li')).toHaveCount(3);
  await expect(page.getByTestId('top-predictions')).toContainText('%');
  await expect(page.getByTestId('review-shortcuts')).toContainText('Enter');
  await expect(page.getByRole('img', { name: `Item ${first}` })).toBeVisible();
  const before = await decisionsToday(page);

  // Enter confirms the model's answer.
  const firstAnswer = await modelAnswer(page);
  await page.keyboard.press('Enter');
  const second = await nextItemId(item, first);
  await expect(message).toContainText(`Item #${first}: confirmed`);
  expect(await reviewsOf(first)).toEqual([
    { action: 'confirm', chosen_label: firstAnswer, model_label: firstAnswer, reverts_review_id: null },
  ]);
  expect(queryOne('select status, current_label, label_source from items where id = ?', first)).toEqual({
    status: 'reviewed',
    current_label: firstAnswer,
    label_source: 'human',
  });

  // A number key naming another class corrects it (key 1 is class 0, key 2 class 1).
  const secondAnswer = await modelAnswer(page);
  const chosen = secondAnswer === 0 ? 1 : 0;
  await page.keyboard.press(String(chosen + 1));
  const third = await nextItemId(item, second);
  await expect(message).toContainText(`Item #${second}: corrected to`);
  expect(await reviewsOf(second)).toEqual([
    { action: 'correct', chosen_label: chosen, model_label: secondAnswer, reverts_review_id: null },
  ]);
  await expect(page.getByTestId('stats-decisions')).toHaveText(String(before + 2));

  // Z undoes the correction: the item is back on screen, back in the queue, held by this reviewer.
  await page.keyboard.press('z');
  await expect(item).toHaveAttribute('data-item-id', String(second));
  await expect(message).toContainText(`Item #${second}: undid`);
  await expect.poll(async () => (await reviewsOf(second)).map((r) => r.action)).toEqual(['correct', 'undo']);
  expect(queryOne('select status from items where id = ?', second)).toEqual({ status: 'needs_review' });
  expect(
    queryOne<{ email: string }>(
      'select u.email from leases l join users u on u.id = l.reviewer_id where l.item_id = ?',
      second,
    )?.email,
  ).toBe('reviewer@loupe.demo');
  await expect(page.getByTestId('stats-decisions')).toHaveText(String(before + 1));

  // Decided again with Enter; the item that was on screen before the undo comes next.
  await page.keyboard.press('Enter');
  await expect(item).toHaveAttribute('data-item-id', String(third));
  await expect.poll(async () => (await reviewsOf(second)).map((r) => r.action)).toEqual(['correct', 'undo', 'confirm']);
  await expect(page.getByTestId('stats-decisions')).toHaveText(String(before + 2));
});

test('a hold lost meanwhile is reported plainly, nothing is recorded, and the page goes on with an item it holds', async ({
  reviewerPage: page,
}) => {
  await page.goto('/review');
  const item = page.getByTestId('review-item');
  const current = await nextItemId(item);
  // As if the lease had run out: give the item back behind the page's back.
  const released = await page.request.post('/api/v1/queue/release', { data: { itemIds: [current] } });
  expect((await released.json()).released).toEqual([current]);
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('review-message')).toContainText(
    `Item #${current} was not recorded: Your hold on this item expired`,
  );
  // The page claims again. The queue serves the least confident item first, so it may hand back
  // the item just given up (now held anew); either way the item shown is held by this reviewer.
  await expect
    .poll(async () => {
      const shown = Number(await item.getAttribute('data-item-id'));
      return (
        queryOne<{ email: string }>(
          'select u.email from leases l join users u on u.id = l.reviewer_id where l.item_id = ?',
          shown,
        )?.email ?? null
      );
    })
    .toBe('reviewer@loupe.demo');
  expect(await reviewsOf(current)).toEqual([]);
});

test('the grid view: mark one wrong with the keyboard, pick its class, one submit confirms the rest', async ({
  reviewerPage: page,
}) => {
  await page.goto('/review/grid');
  const pick = page.locator('button[data-testid^="grid-class-"]:enabled').first();
  const classIndex = Number((await pick.getAttribute('data-testid'))!.replace('grid-class-', ''));
  await pick.click();
  const cells = page.getByTestId('grid-cell');
  await expect(cells.first()).toBeVisible();
  const count = await cells.count();
  expect(count).toBeGreaterThan(1);
  expect(count).toBeLessThanOrEqual(25);
  const ids = (await cells.evaluateAll((els) => els.map((el) => el.getAttribute('data-item-id')))).map(Number);

  await cells.first().focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Space');
  await expect(cells.nth(1)).toHaveAttribute('data-marked', 'true');
  const wrong = ids[1]!;
  await expect(page.getByTestId('grid-submit')).toBeDisabled();
  const correction = page.getByTestId(`grid-correction-${wrong}`);
  await correction.selectOption({ index: 1 });
  const chosen = Number(await correction.inputValue());
  expect(chosen).not.toBe(classIndex);
  await expect(page.getByTestId('grid-submit')).toHaveText(`Submit: confirm ${count - 1}, correct 1`);
  await page.getByTestId('grid-submit').click();

  await expect(page.getByTestId('grid-message')).toContainText(`Recorded ${count} of ${count}`);
  await expect(cells.nth(1)).toHaveAttribute('data-result', 'correct');
  await expect(cells.first()).toHaveAttribute('data-result', 'confirm');
  for (const id of ids) {
    expect(await reviewsOf(id), `item ${id}`).toEqual([
      id === wrong
        ? { action: 'correct', chosen_label: chosen, model_label: classIndex, reverts_review_id: null }
        : { action: 'confirm', chosen_label: classIndex, model_label: classIndex, reverts_review_id: null },
    ]);
  }
  expect(queryOne<{ n: number }>(`select count(*) as n from leases where item_id in (${ids.join(',')})`)!.n).toBe(0);
});

test('one reviewer cannot decide an item another holds, and the heartbeat says which holds are gone', async ({
  reviewerPage: reviewer,
  adminPage: admin,
}) => {
  const claim = await reviewer.request.post('/api/v1/queue/claim', { data: { catalogue: 'fashion-mnist' } });
  const { item } = (await claim.json()) as { item: { itemId: number } };
  const steal = await admin.request.post('/api/v1/reviews', {
    data: { itemId: item.itemId, action: 'confirm', clientId: `steal-${item.itemId}-attempt`, durationMs: 10 },
  });
  expect(steal.status()).toBe(409);
  expect((await steal.json()).error.code).toBe('conflict');
  expect(await reviewsOf(item.itemId)).toEqual([]);
  const beat = await admin.request.post('/api/v1/queue/heartbeat', { data: { itemIds: [item.itemId] } });
  expect(await beat.json()).toEqual({ renewed: [], lost: [item.itemId] });
  const own = await reviewer.request.post('/api/v1/queue/heartbeat', { data: { itemIds: [item.itemId] } });
  expect((await own.json()).renewed.map((r: { itemId: number }) => r.itemId)).toEqual([item.itemId]);
  expect((await reviewer.request.post('/api/v1/queue/release', { data: { itemIds: [item.itemId] } })).ok()).toBe(true);
});
