import type { Locator, Page, TestInfo } from '@playwright/test';
import { expect, queryAll, queryOne, test } from './fixtures';

// What issue 16 asked for reviewers: the focus view's progress line, the `?` overlay, the
// contrast / zoom toggles, per-catalogue class keys, the grid's order and undo, and both views
// usable at 390 px wide. The database is checked behind the page.

const FASHION = 'fashion-mnist';

function reviewerId(): number {
  return queryOne<{ id: number }>("select id from users where email = 'reviewer@loupe.demo'")!.id;
}

/** What "left for you" means, counted from the tables (lib/review/progress.ts counts it another way). */
function leftInDb(slug: string, userId: number): number {
  return queryOne<{ n: number }>(
    `select count(*) as n from items i join catalogues c on c.id = i.catalogue_id
     left join leases l on l.item_id = i.id
     where c.slug = ? and i.status = 'needs_review'
       and (l.item_id is null or l.expires_at <= ? or l.reviewer_id = ?)
       and i.id not in (select item_id from reviews where reviewer_id = ? and action in ('skip', 'unsure'))`,
    slug,
    Date.now(),
    userId,
    userId,
  )!.n;
}

/** Review rows are checked from here on: the demo reviewer's earlier tests left rows (and holds) behind. */
function lastReviewId(): number {
  return queryOne<{ id: number | null }>('select max(id) as id from reviews')!.id ?? 0;
}

async function shownItemId(page: Page, previous?: number): Promise<number> {
  const item = page.getByTestId('review-item');
  await expect(item).toHaveAttribute(
    'data-item-id',
    previous === undefined ? /^\d+$/ : new RegExp(`^(?!${previous}$)\\d+$`),
  );
  return Number(await item.getAttribute('data-item-id'));
}

async function numberIn(locator: Locator): Promise<number> {
  await expect(locator).toHaveText(/^[\d,]+$/);
  return Number((await locator.textContent())!.replace(/,/g, ''));
}

async function shot(page: Page, testInfo: TestInfo, name: string): Promise<void> {
  await page.screenshot({ path: testInfo.outputPath(`${name}.png`), fullPage: true });
}

test('the focus view says what is left and what this session decided, and `?` lists the keys', async ({
  reviewerPage: page,
}, testInfo) => {
  await page.goto('/review');
  const first = await shownItemId(page);
  const left = page.getByTestId('progress-left');
  const session = page.getByTestId('progress-session');
  await expect(session).toHaveText('0');
  const leftBefore = await numberIn(left);
  expect(leftBefore).toBe(leftInDb(FASHION, reviewerId()));

  await page.keyboard.press('Enter');
  await shownItemId(page, first);
  await expect(session).toHaveText('1');
  await expect(left).toHaveText((leftBefore - 1).toLocaleString('en'));

  // The session survives a reload in this tab; the undone decision no longer counts.
  await page.reload();
  await shownItemId(page);
  await expect(session).toHaveText('1');
  await page.keyboard.press('z');
  await expect(page.getByTestId('review-message')).toContainText(`Item #${first}: undid`);
  await expect(session).toHaveText('0');
  await expect(left).toHaveText(leftBefore.toLocaleString('en'));

  // `?` opens the overlay with the real keys; keys do nothing under it; Escape closes it.
  const shown = await shownItemId(page);
  await page.keyboard.press('?');
  const overlay = page.getByTestId('shortcut-overlay');
  await expect(overlay).toBeVisible();
  await expect(overlay.getByRole('heading', { name: 'Keyboard shortcuts' })).toBeVisible();
  const classes = overlay.getByTestId('shortcut-classes').locator('li');
  await expect(classes).toHaveCount(10);
  await expect(classes.first()).toHaveText('1 T-shirt/top');
  await expect(classes.last()).toHaveText('0 Ankle boot');
  for (const key of ['Enter', 'S', 'U', 'Backspace', 'C', 'M', 'Esc'])
    await expect(overlay.getByTestId('shortcut-actions')).toContainText(key);
  await shot(page, testInfo, 'focus-shortcuts');
  // (Enter would press the dialog's focused Close button, which closes it: no decision either.)
  await page.keyboard.press('s');
  await page.keyboard.press('2');
  await expect(overlay).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(overlay).toBeHidden();
  await expect(page.getByTestId('review-item')).toHaveAttribute('data-item-id', String(shown));
  expect(await queryAll("select id from reviews where item_id = ? and action in ('skip', 'correct')", shown)).toEqual(
    [],
  );
  // The button opens it too.
  await page.getByTestId('open-shortcuts').click();
  await expect(overlay).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(overlay).toBeHidden();
});

test('contrast and zoom: C stretches the image, M enlarges it, and the browser remembers both', async ({
  reviewerPage: page,
}, testInfo) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  const before = lastReviewId();
  await page.goto('/review');
  const id = await shownItemId(page);
  const image = page.getByRole('img', { name: `Item ${id}` });
  const box = page.getByTestId('review-image-box');
  await expect(image).toHaveAttribute('data-contrast', 'original');
  expect((await box.boundingBox())!.width).toBeCloseTo(336, 0);

  await page.keyboard.press('c');
  await expect(page.getByTestId('toggle-contrast')).toHaveAttribute('aria-pressed', 'true');
  await expect(image).toHaveAttribute('data-contrast', 'stretched');
  await expect(image).toHaveAttribute('src', /^data:image\/png;base64,/);
  // The stretch reaches black and white: the darkest displayed pixel is 0, the brightest 255.
  const range = await image.evaluate((img: HTMLImageElement) => {
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext('2d')!;
    context.drawImage(img, 0, 0);
    const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
    let low = 255;
    let high = 0;
    for (let i = 0; i < data.length; i += 4) {
      low = Math.min(low, data[i]!);
      high = Math.max(high, data[i]!);
    }
    return { low, high, width: canvas.width };
  });
  expect(range).toEqual({ low: 0, high: 255, width: 28 });

  await page.getByTestId('toggle-zoom').click();
  await expect(page.getByTestId('toggle-zoom')).toHaveAttribute('aria-pressed', 'true');
  await expect.poll(async () => Math.round((await box.boundingBox())!.width)).toBe(504);
  await shot(page, testInfo, 'focus-contrast-zoom');

  // Remembered per browser: a reload comes back with both on, the next item too.
  await page.reload();
  const next = await shownItemId(page);
  await expect(page.getByTestId('toggle-contrast')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByRole('img', { name: `Item ${next}` })).toHaveAttribute('data-contrast', 'stretched');
  await expect.poll(async () => Math.round((await box.boundingBox())!.width)).toBe(504);
  await page.keyboard.press('m');
  await page.keyboard.press('c');
  await expect(page.getByTestId('toggle-zoom')).toHaveAttribute('aria-pressed', 'false');
  await expect(page.getByRole('img', { name: `Item ${next}` })).toHaveAttribute('data-contrast', 'original');
  // The display changes no data: nothing was decided by C and M.
  expect(await queryAll('select id from reviews where id > ?', before)).toEqual([]);
});

test('after clicking Contrast with the mouse, Enter confirms the item instead of toggling it back', async ({
  reviewerPage: page,
}) => {
  const before = lastReviewId();
  await page.goto('/review');
  const id = await shownItemId(page);
  await page.getByTestId('toggle-contrast').click();
  await expect(page.getByTestId('toggle-contrast')).toHaveAttribute('aria-pressed', 'true');
  await page.keyboard.press('Enter');
  await shownItemId(page, id);
  await expect(page.getByTestId('toggle-contrast')).toHaveAttribute('aria-pressed', 'true');
  await expect
    .poll(() => queryAll('select item_id as itemId, action from reviews where id > ?', before))
    .toEqual([{ itemId: id, action: 'confirm' }]);
  // Keyboard users keep their place: Space on the focused button toggles it and the focus stays.
  await page.getByTestId('toggle-contrast').focus();
  await page.keyboard.press('Space');
  await expect(page.getByTestId('toggle-contrast')).toHaveAttribute('aria-pressed', 'false');
  await expect(page.getByTestId('toggle-contrast')).toBeFocused();
});

test('class keys: an admin sets them, bad ones get a sentence, reviewers use them; more than ten classes get letters', async ({
  adminPage: admin,
  reviewerPage: reviewer,
  opsPage: ops,
}, testInfo) => {
  const keysUrl = `/api/v1/catalogues/${FASHION}/class-keys`;
  const stored = () =>
    queryOne<{ k: string | null }>('select class_keys as k from catalogues where slug = ?', FASHION)!.k;
  try {
    await admin.goto(`/review/keys?catalogue=${FASHION}`);
    await expect(admin.getByTestId('class-keys-state')).toHaveText('This catalogue uses the default keys.');
    await expect(admin.getByTestId('class-key-0')).toHaveValue('1');

    // A reserved key and a duplicate are refused with a sentence; nothing is stored.
    await admin.getByTestId('class-key-0').fill('s');
    await admin.getByTestId('class-keys-save').click();
    await expect(admin.getByTestId('class-keys-message')).toHaveText(
      'Not saved: The key "s" for T-shirt/top is taken by Skip; choose another key.',
    );
    await admin.getByTestId('class-key-0').fill('2');
    await admin.getByTestId('class-keys-save').click();
    await expect(admin.getByTestId('class-keys-message')).toHaveText(
      'Not saved: T-shirt/top and Trouser both use the key "2"; each key picks one class.',
    );
    expect(stored()).toBeNull();

    await admin.getByTestId('class-key-0').fill('Q');
    await admin.getByTestId('class-keys-save').click();
    await expect(admin.getByTestId('class-keys-message')).toHaveText('Saved: the review pages use these keys.');
    expect(JSON.parse(stored()!)).toEqual(['q', '2', '3', '4', '5', '6', '7', '8', '9', '0']);
    await shot(admin, testInfo, 'class-keys-admin');

    // The API says the same to scripts; reviewers and ops may read, not write.
    const bad = await admin.request.put(keysUrl, { data: { keys: ['q', 'x', 'y'] } });
    expect(bad.status()).toBe(400);
    expect((await bad.json()).error.message).toBe(
      'This catalogue has 10 classes and 3 keys were sent: send one key (or none) per class, in class order.',
    );
    for (const page of [reviewer, ops]) {
      const refused = await page.request.put(keysUrl, { data: { keys: null } });
      expect(refused.status()).toBe(403);
      expect((await refused.json()).error.code).toBe('forbidden');
    }
    expect((await reviewer.request.get(keysUrl)).ok()).toBe(true);
    expect((await reviewer.goto('/review/keys'))!.status()).toBe(403);

    // The reviewer's focus view shows and uses the new key: Q picks T-shirt/top, 1 picks nothing.
    await reviewer.goto('/review');
    const id = await shownItemId(reviewer);
    await expect(reviewer.getByTestId('class-option-0').locator('kbd')).toHaveText('Q');
    const before = lastReviewId();
    await reviewer.keyboard.press('1');
    await reviewer.waitForTimeout(300);
    expect(await queryAll('select id from reviews where id > ?', before)).toEqual([]);
    await reviewer.keyboard.press('q');
    await shownItemId(reviewer, id);
    await expect
      .poll(
        () =>
          queryOne<{ chosen: number }>(
            'select chosen_label as chosen from reviews where item_id = ? and id > ?',
            id,
            before,
          )?.chosen,
      )
      .toBe(0);
    // The grid shows the map too.
    await reviewer.goto('/review/grid');
    await reviewer.locator('button[data-testid^="grid-class-"]:enabled').nth(1).click();
    await expect(reviewer.getByTestId('grid-key-legend')).toContainText('Q T-shirt/top');
    await reviewer.getByTestId('grid-back').click();
  } finally {
    await admin.request.put(keysUrl, { data: { keys: null } });
  }
  expect(stored()).toBeNull();

  // A catalogue of twelve classes: 1-9, 0, then A and B by default, listed in the overlay.
  const slug = `e2e-twelve-${Date.now()}`;
  const classes = Array.from({ length: 12 }, (_, i) => `class ${String.fromCharCode(65 + i)}`);
  const images = Buffer.alloc(16 + 784);
  images.writeUInt32BE(0x803, 0);
  images.writeUInt32BE(1, 4);
  images.writeUInt32BE(28, 8);
  images.writeUInt32BE(28, 12);
  images.fill(30, 16);
  const created = await admin.request.post('/api/v1/imports', {
    multipart: {
      catalogue: slug,
      create: 'true',
      name: 'Twelve classes',
      classes: classes.join('\n'),
      file: { name: 'twelve-idx3-ubyte', mimeType: 'application/octet-stream', buffer: images },
    },
  });
  expect(created.ok(), await created.text()).toBe(true);
  const keys = await (await reviewer.request.get(`/api/v1/catalogues/${slug}/class-keys`)).json();
  expect(keys.keys).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', 'a', 'b']);
  await reviewer.goto(`/review?catalogue=${slug}`);
  await reviewer.keyboard.press('?');
  const listed = reviewer.getByTestId('shortcut-classes').locator('li');
  await expect(listed).toHaveCount(12);
  await expect(listed.nth(10)).toHaveText('A class K');
  await expect(listed.nth(11)).toHaveText('B class L');
});

test('the grid serves the most confident first even with a focus hold of the class, says what is free, and undoes its last submit', async ({
  reviewerPage: page,
}, testInfo) => {
  // The most uncertain item, held as the focus view holds it.
  const claimed = await page.request.post('/api/v1/queue/claim', { data: { catalogue: FASHION } });
  const { item } = (await claimed.json()) as {
    item: { itemId: number; predictedClass: number; top: { prob: number }[] };
  };
  const uncertain = item.itemId;

  await page.goto('/review/grid');
  const picker = page.getByTestId('grid-class-picker');
  // Every class says what is free for this reviewer, even when it equals what needs review.
  await expect(picker.locator('[data-testid^="grid-class-free-"]')).toHaveCount(10);
  await expect(picker.getByTestId('grid-class-free-0')).toHaveText(/^\d+ free for you$/);
  await shot(page, testInfo, 'grid-picker');
  await page.getByTestId(`grid-class-${item.predictedClass}`).click();
  const cells = page.getByTestId('grid-cell');
  await expect(cells.first()).toBeVisible();
  const ids = await cells.evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-item-id'))));
  expect(ids).toContain(uncertain);
  expect(ids[0]).not.toBe(uncertain);
  const confidences = ids.map(
    (id) =>
      queryOne<{ c: number }>(
        `select p.confidence as c from predictions p join model_versions m on m.id = p.model_version_id
         where m.status = 'active' and p.item_id = ?`,
        id,
      )!.c,
  );
  expect(confidences).toEqual([...confidences].sort((a, b) => b - a));

  // Mark one wrong, submit, then undo the whole submit.
  const count = ids.length;
  const before = lastReviewId();
  await cells.nth(1).click();
  const corrected = ids[1]!;
  const target = item.predictedClass === 0 ? 1 : 0;
  await page.getByTestId(`grid-correction-${corrected}`).selectOption(String(target));
  await page.getByTestId('grid-submit').click();
  await expect(page.getByTestId('grid-message')).toContainText(`Recorded ${count} of ${count}`);
  const firstIds = (
    await queryAll<{ id: number }>(
      `select id from reviews where item_id in (${ids.join(',')}) and action in ('confirm', 'correct') and id > ? order by id`,
      before,
    )
  ).map((r) => r.id);
  expect(firstIds).toHaveLength(count);
  await shot(page, testInfo, 'grid-done');
  await page.getByTestId('grid-undo').click();
  await expect(page.getByTestId('grid-message')).toContainText(`Undid ${count} decisions`);
  // Review rows: originals kept, one undo each; items waiting again, held by this reviewer.
  expect(
    (
      await queryAll<{ reverts: number }>(
        `select reverts_review_id as reverts from reviews where action = 'undo' and reverts_review_id in (${firstIds.join(',')}) order by reverts_review_id`,
      )
    ).map((r) => r.reverts),
  ).toEqual(firstIds);
  expect(
    (
      await queryAll<{ status: string; reviewer: number | null }>(
        `select i.status, l.reviewer_id as reviewer from items i left join leases l on l.item_id = i.id where i.id in (${ids.join(',')})`,
      )
    ).every((row) => row.status === 'needs_review' && row.reviewer === reviewerId()),
  ).toBe(true);
  // The batch is back with its mark, to decide again; a second submit records with new client ids.
  await expect(cells).toHaveCount(count);
  await expect(cells.nth(1)).toHaveAttribute('data-marked', 'true');
  await expect(page.getByTestId('grid-submit')).toHaveText(`Submit: confirm ${count - 1}, correct 1`);
  await page.getByTestId('grid-submit').click();
  await expect(page.getByTestId('grid-message')).toContainText(`Recorded ${count} of ${count}`);
  expect(
    queryOne<{ n: number }>(
      `select count(*) as n from items where id in (${ids.join(',')}) and status = 'reviewed' and label_source = 'human'`,
    )!.n,
  ).toBe(count);
  expect(queryOne<{ label: number }>('select current_label as label from items where id = ?', corrected)!.label).toBe(
    target,
  );
});

test('at 390 px wide both review views fit, and their buttons are reachable', async ({
  reviewerPage: page,
}, testInfo) => {
  await page.setViewportSize({ width: 390, height: 844 });
  const fits = async (testId: string) => {
    const { scroll, client } = await page
      .getByTestId(testId)
      .evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    expect(scroll, `${testId} is wider than its box`).toBeLessThanOrEqual(client);
    const box = (await page.getByTestId(testId).boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(390);
  };
  await page.goto('/review');
  await shownItemId(page);
  await fits('review-view');
  // `trial` runs every actionability check (visible, stable, not covered) without clicking.
  for (const id of ['action-confirm', 'action-skip', 'action-unsure', 'action-undo', 'class-option-9', 'toggle-zoom'])
    await page.getByTestId(id).click({ trial: true });
  await page.getByTestId('toggle-zoom').click();
  await fits('review-view');
  await shot(page, testInfo, 'focus-390');
  await page.getByTestId('toggle-zoom').click();

  await page.goto('/review/grid');
  await page.locator('button[data-testid^="grid-class-"]:enabled').first().click();
  await expect(page.getByTestId('grid-cell').first()).toBeVisible();
  await fits('grid-view');
  await page.getByTestId('grid-cell').last().click({ trial: true });
  await page.getByTestId('grid-submit').click({ trial: true });
  await shot(page, testInfo, 'grid-390');
  await page.getByTestId('grid-back').click();
  await expect(page.getByTestId('grid-class-picker')).toBeVisible();
});
