import fs from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContextOptions, Page } from '@playwright/test';
import { DEMO, expect, queryAll, queryOne, signInAs, test, type DemoRole } from './fixtures';

// Issue 16, every page: usable at 390 px (no sideways scroll, a menu button, tables scrolling
// in their own box) and dark when the system is dark. LOUPE_SCREENSHOTS=<dir> keeps a
// screenshot of each page visited, for a person to look at.

const SCREENSHOTS = process.env.LOUPE_SCREENSHOTS;
const PHONE = { width: 390, height: 844 };

/** Every page.tsx under app/, found by walking the folder: a new page is checked by itself. */
function pageRoutes(): string[] {
  const app = path.resolve(import.meta.dirname, '..', '..', 'app');
  const found: string[] = [];
  const visit = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory() && !entry.name.startsWith('_') && entry.name !== 'api') visit(path.join(dir, entry.name));
      else if (entry.name === 'page.tsx') {
        const segments = path.relative(app, dir).split(path.sep).filter(Boolean);
        found.push(`/${segments.filter((s) => !/^\(.*\)$/.test(s)).join('/')}`);
      }
    }
  };
  visit(app);
  return found.sort();
}

function concrete(route: string): string {
  const item = queryOne<{ id: number }>(
    `select i.id from items i join catalogues c on c.id = i.catalogue_id where c.slug = 'fashion-mnist' and i.eval_role is null order by i.id limit 1`,
  )!;
  const reviewed = queryOne<{ id: number }>(
    `select i.id from items i join catalogues c on c.id = i.catalogue_id where c.slug = 'fashion-mnist' and i.eval_role is null and i.label_source = 'human' limit 1`,
  );
  return route.replace('[slug]', 'fashion-mnist').replace('[id]', String(reviewed?.id ?? item.id));
}

async function shoot(page: Page, name: string) {
  if (!SCREENSHOTS) return;
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name.replace(/[^a-z0-9-]+/gi, '_')}.png`), fullPage: true });
}

/** Settles a page: loaded, its first fetches answered (charts, the review queue). */
async function settle(page: Page) {
  await page.waitForLoadState('load');
  await page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => undefined);
}

async function signedInContext(browser: Browser, role: DemoRole | null, options: BrowserContextOptions) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  if (role) await signInAs(page, role);
  return { context, page };
}

/** The review pages claim items: give back what the demo accounts hold, for the specs after this one. */
async function releaseHeld(page: Page, role: DemoRole) {
  const held = (
    await queryAll<{ id: number }>(
      `select l.item_id as id from leases l join users u on u.id = l.reviewer_id where u.email = ?`,
      DEMO[role].email,
    )
  ).map((row) => row.id);
  if (held.length > 0) await page.request.post('/api/v1/queue/release', { data: { itemIds: held } });
}

test.describe('at 390 px wide', () => {
  test('no page scrolls sideways, for any role', async ({ browser }) => {
    test.setTimeout(240_000);
    const routes = pageRoutes();
    expect(routes).toEqual(expect.arrayContaining(['/', '/catalogues', '/admin/users', '/review', '/signin']));
    const wide: string[] = [];
    for (const role of ['admin', 'reviewer', 'ops', null] as const) {
      const { context, page } = await signedInContext(browser, role, { viewport: PHONE });
      const visits = role ? [...routes.filter((r) => r !== '/signin'), '/no-such-page'] : ['/signin'];
      for (const route of visits) {
        await page.goto(concrete(route));
        await settle(page);
        const widths = await page.evaluate(() => {
          const limit = window.innerWidth;
          // The outermost elements reaching past the right edge, to say what is too wide.
          const culprits = [...document.body.querySelectorAll('*')]
            .filter((el) => el.getBoundingClientRect().right > limit + 0.5)
            .filter((el) => !(el.parentElement && el.parentElement.getBoundingClientRect().right > limit + 0.5))
            .slice(0, 3)
            .map((el) => `${el.tagName.toLowerCase()}.${String(el.className).slice(0, 60)}`);
          return { scroll: document.documentElement.scrollWidth, inner: limit, culprits };
        });
        await shoot(page, `phone-${role ?? 'signed-out'}-${route}`);
        if (widths.scroll > widths.inner)
          wide.push(
            `${role ?? 'signed out'} ${route}: ${widths.scroll} px > ${widths.inner} (${widths.culprits.join(' | ')})`,
          );
      }
      if (role && role !== 'ops') await releaseHeld(page, role);
      await context.close();
    }
    expect(wide, 'pages wider than the screen').toEqual([]);
  });

  test('the menu folds into a button that opens, follows a link and closes', async ({ browser }) => {
    const { context, page } = await signedInContext(browser, 'admin', { viewport: PHONE });
    await page.goto('/catalogues');
    await expect(page.getByTestId('nav-links')).toBeHidden();
    const button = page.getByRole('button', { name: 'Menu' });
    await expect(button).toHaveAttribute('aria-expanded', 'false');
    const menu = page.getByTestId('nav-menu');
    await expect(menu).toBeHidden();

    await button.click();
    await expect(button).toHaveAttribute('aria-expanded', 'true');
    await expect(menu.getByRole('link', { name: 'Users' })).toBeVisible();
    await expect(menu).toContainText('admin@loupe.demo (admin)');
    await page.keyboard.press('Escape');
    await expect(menu).toBeHidden();
    await expect(button).toBeFocused();

    await button.click();
    await menu.getByRole('link', { name: 'Users' }).click();
    await expect(page).toHaveURL(/\/admin\/users$/);
    await expect(menu).toBeHidden();
    // The users table scrolls inside its own box.
    const box = await page.getByTestId('users-table').evaluate((table) => {
      const parent = table.parentElement!;
      return { table: table.scrollWidth, box: parent.clientWidth, overflow: getComputedStyle(parent).overflowX };
    });
    expect(box.overflow).toBe('auto');
    expect(box.table).toBeGreaterThan(box.box);
    await context.close();

    // A reviewer's menu has only what a reviewer may open.
    const reviewer = await signedInContext(browser, 'reviewer', { viewport: PHONE });
    await reviewer.page.goto('/catalogues');
    await reviewer.page.getByRole('button', { name: 'Menu' }).click();
    const links = await reviewer.page.getByTestId('nav-menu').getByRole('link').allTextContents();
    expect(links).toContain('Review');
    expect(links).not.toContain('Users');
    await reviewer.context.close();

    // Wide screens keep the links in the bar and no menu button.
    const desktop = await signedInContext(browser, 'admin', { viewport: { width: 1280, height: 800 } });
    await desktop.page.goto('/catalogues');
    await expect(desktop.page.getByTestId('nav-links')).toBeVisible();
    await expect(desktop.page.getByRole('button', { name: 'Menu' })).toBeHidden();
    await desktop.context.close();
  });
});

/** A CSS colour as sRGB (any syntax the browser knows, oklch included), read back through a canvas. */
async function colours(page: Page) {
  return page.evaluate(() => {
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 1;
    const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
    const rgb = (css: string) => {
      ctx.clearRect(0, 0, 1, 1);
      ctx.fillStyle = css;
      ctx.fillRect(0, 0, 1, 1);
      const [r, g, b] = ctx.getImageData(0, 0, 1, 1).data;
      return [r!, g!, b!];
    };
    const heading = document.querySelector('main h1') ?? document.querySelector('main');
    return {
      background: rgb(getComputedStyle(document.body).backgroundColor),
      text: rgb(getComputedStyle(heading ?? document.body).color),
      body: rgb(getComputedStyle(document.body).color),
    };
  });
}

/** WCAG relative luminance and contrast ratio. */
function luminance([r, g, b]: number[]): number {
  const channel = (v: number) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r!) + 0.7152 * channel(g!) + 0.0722 * channel(b!);
}
function contrast(a: number[], b: number[]): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

test('dark mode follows the system: dark background, light text on the main pages', async ({ browser }) => {
  test.setTimeout(180_000);
  const pages: [DemoRole, string][] = [
    ['admin', '/'],
    ['admin', '/catalogues'],
    ['ops', '/catalogues/fashion-mnist'],
    ['ops', '/catalogues/[slug]/items/[id]'],
    ['reviewer', '/review'],
    ['reviewer', '/review/grid'],
    ['admin', '/import'],
    ['admin', '/models'],
    ['ops', '/dashboards'],
    ['admin', '/settings'],
    ['admin', '/admin/users'],
    ['admin', '/no-such-page'],
  ];
  const problems: string[] = [];
  for (const role of ['admin', 'ops', 'reviewer'] as const) {
    const { context, page } = await signedInContext(browser, role, {
      colorScheme: 'dark',
      viewport: { width: 1280, height: 900 },
    });
    for (const [, route] of pages.filter(([r]) => r === role)) {
      await page.goto(concrete(route));
      await settle(page);
      const c = await colours(page);
      await shoot(page, `dark-${role}-${route}`);
      if (luminance(c.background) > 0.05) problems.push(`${route}: background ${c.background.join(',')} is not dark`);
      if (luminance(c.text) < 0.5) problems.push(`${route}: heading ${c.text.join(',')} is not light`);
      if (contrast(c.text, c.background) < 7)
        problems.push(`${route}: heading contrast ${contrast(c.text, c.background).toFixed(1)}`);
    }
    if (role !== 'ops') await releaseHeld(page, role);
    await context.close();
  }
  expect(problems).toEqual([]);

  // The light scheme is untouched.
  const light = await signedInContext(browser, 'admin', { colorScheme: 'light' });
  await light.page.goto('/catalogues');
  const c = await colours(light.page);
  expect(luminance(c.background)).toBeGreaterThan(0.9);
  expect(luminance(c.text)).toBeLessThan(0.05);
  await light.context.close();
});
