import { expect, queryOne, test } from './fixtures';

// The server is the check: each role is refused, page by page and route by route, what it
// must not do, whatever the menu shows.

test('signed out: pages redirect to sign-in and the API answers 401 JSON', async ({ page, request }) => {
  for (const path of ['/review', '/catalogues', '/admin/users', '/import', '/settings']) {
    await page.goto(path);
    await expect(page, path).toHaveURL(/\/signin\?callbackUrl=/);
  }
  for (const [method, path] of [
    ['POST', '/api/v1/queue/claim'],
    ['GET', '/api/v1/catalogues/fashion-mnist/items'],
    ['GET', '/api/v1/items/1/image'],
    ['GET', '/api/v1/catalogues/fashion-mnist/export?format=csv'],
    ['POST', '/api/v1/imports'],
    ['PUT', '/api/v1/catalogues/fashion-mnist/threshold'],
  ] as const) {
    const response = await request.fetch(path, { method, data: method === 'GET' ? undefined : {} });
    expect(response.status(), `${method} ${path}`).toBe(401);
    expect((await response.json()).error.code).toBe('unauthorized');
  }
  expect((await request.get('/api/v1/health')).status()).toBe(200);
});

test('ops cannot review, import, change settings or manage users', async ({ opsPage: page }) => {
  for (const path of ['/review', '/review/grid', '/import', '/settings', '/admin/users']) {
    await page.goto(path);
    await expect(page.getByTestId('forbidden'), path).toBeVisible();
  }
  const claim = await page.request.post('/api/v1/queue/claim', { data: { catalogue: 'fashion-mnist' } });
  expect(claim.status()).toBe(403);
  expect((await claim.json()).error.code).toBe('forbidden');
  const submit = await page.request.post('/api/v1/reviews', { data: {} });
  expect(submit.status()).toBe(403);
  const upload = await page.request.post('/api/v1/imports', { multipart: { catalogue: 'fashion-mnist' } });
  expect(upload.status()).toBe(403);
  const threshold = await page.request.put('/api/v1/catalogues/fashion-mnist/threshold', { data: { threshold: 0.5 } });
  expect(threshold.status()).toBe(403);
  // What ops may do: read the catalogue and export.
  expect((await page.request.get('/api/v1/catalogues/fashion-mnist/items')).status()).toBe(200);
  expect((await page.request.get('/api/v1/catalogues/fashion-mnist/export?format=csv')).status()).toBe(200);
});

test('a reviewer cannot import, export, change settings or manage users', async ({ reviewerPage: page }) => {
  for (const path of ['/import', '/settings', '/admin/users']) {
    await page.goto(path);
    await expect(page.getByTestId('forbidden'), path).toBeVisible();
  }
  const before = queryOne<{ n: number }>('select count(*) as n from items')!.n;
  const upload = await page.request.post('/api/v1/imports', {
    multipart: {
      catalogue: 'fashion-mnist',
      file: { name: 'x.csv', mimeType: 'text/csv', buffer: Buffer.from(`${'0,'.repeat(783)}0\n`) },
    },
  });
  expect(upload.status()).toBe(403);
  expect(queryOne<{ n: number }>('select count(*) as n from items')!.n).toBe(before);
  expect((await page.request.get('/api/v1/catalogues/fashion-mnist/export?format=json')).status()).toBe(403);
  const changes = () => queryOne<{ n: number }>('select count(*) as n from settings_changes')!.n;
  const changesBefore = changes();
  const threshold = await page.request.put('/api/v1/catalogues/fashion-mnist/threshold', { data: { threshold: 0.5 } });
  expect(threshold.status()).toBe(403);
  expect(changes()).toBe(changesBefore);
  // What a reviewer may do: claim from the queue.
  const claim = await page.request.post('/api/v1/queue/claim', { data: { catalogue: 'fashion-mnist' } });
  expect(claim.status()).toBe(200);
});

test('bad input to the API is a 400 with a sentence, not a stack trace', async ({ reviewerPage: page }) => {
  const notJson = await page.request.post('/api/v1/reviews', {
    headers: { 'content-type': 'application/json' },
    data: '{not json',
  });
  expect(notJson.status()).toBe(400);
  const body = await notJson.json();
  expect(body.error.code).toBe('bad_input');
  expect(body.error.message).toMatch(/\w+ \w+/);
  expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
  const badImage = await page.request.get('/api/v1/items/not-a-number/image');
  expect(badImage.status()).toBe(400);
  const missing = await page.request.get('/api/v1/items/99999999/image');
  expect(missing.status()).toBe(404);
});
