import { DEMO, expect, signInAs, test } from './fixtures';

test('a signed-out visitor is sent to sign in, and the form signs in each role with its own menu', async ({ page }) => {
  await page.goto('/');
  await expect(page).toHaveURL(/\/signin/);

  await page.getByLabel('Email').fill(DEMO.reviewer.email);
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('signin-error')).toContainText('do not match');

  await page.getByLabel('Password').fill(DEMO.reviewer.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('signed-in-as')).toContainText('reviewer@loupe.demo (reviewer)');
  const nav = page.getByRole('navigation', { name: 'Main' });
  await expect(nav.getByRole('link', { name: 'Review' })).toBeVisible();
  await expect(nav.getByRole('link', { name: 'Users' })).toHaveCount(0);
  await expect(nav.getByRole('link', { name: 'Import' })).toHaveCount(0);
});

test('each role sees only the menu entries it may use', async ({ browser }) => {
  const expected = {
    admin: { Review: 1, Catalogues: 1, Import: 1, Models: 1, Settings: 1, Users: 1 },
    reviewer: { Review: 1, Catalogues: 1, Import: 0, Models: 0, Settings: 0, Users: 0 },
    ops: { Review: 0, Catalogues: 1, Import: 0, Models: 1, Settings: 0, Users: 0 },
  } as const;
  for (const [role, links] of Object.entries(expected)) {
    const context = await browser.newContext();
    const page = await context.newPage();
    await signInAs(page, role as keyof typeof expected);
    await page.goto('/');
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const [label, count] of Object.entries(links)) {
      await expect(nav.getByRole('link', { name: label, exact: true }), `${role} / ${label}`).toHaveCount(count);
    }
    await context.close();
  }
});

test('the session cookie is http-only and not readable by scripts', async ({ page }) => {
  await signInAs(page, 'ops');
  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name.endsWith('next-auth.session-token'));
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe('Lax');
  await page.goto('/');
  expect(await page.evaluate(() => document.cookie)).not.toContain('session-token');
});

test('the sign-in page has a favicon, served to signed-out visitors too', async ({ page }) => {
  await page.goto('/signin');
  const href = await page.locator('link[rel="icon"]').first().getAttribute('href');
  expect(href).toMatch(/^\/icon\.svg/);
  const icon = await page.request.get(href!);
  expect(icon.status()).toBe(200);
  expect(icon.headers()['content-type']).toContain('image/svg+xml');
});
