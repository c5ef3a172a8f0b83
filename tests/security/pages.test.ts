import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { Actor } from '@/lib/auth/permissions';

let signedIn: Actor | null = null;
vi.mock('@/lib/auth/current-actor', () => ({ getCurrentActor: async () => signedIn }));
// What next.config.mjs's experimental.authInterrupts sets in the built app.
process.env.__NEXT_EXPERIMENTAL_AUTH_INTERRUPTS = 'true';

const { PAGE_PERMISSIONS, pagePermission, requirePageAccess } = await import('@/lib/http/page-auth');

const APP = path.resolve(import.meta.dirname, '../../app');

/** Every app/**\/page.tsx with the permission its requirePageAccess call names (null: none). */
function pagesAndPermissions(): Record<string, string | null> {
  const found: Record<string, string | null> = {};
  const visit = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (entry.name === 'page.tsx') {
        const route = `/${path.relative(APP, dir).split(path.sep).filter(Boolean).join('/')}`;
        const call = /requirePageAccess\(\s*'([\w.]+)'/.exec(fs.readFileSync(full, 'utf8'));
        found[route] = call ? call[1]! : null;
      }
    }
  };
  visit(APP);
  return found;
}

function digestOf(error: unknown): string | undefined {
  return (error as { digest?: string }).digest;
}

describe('pages a role may not open', () => {
  it('PAGE_PERMISSIONS names exactly the permission each page asks requirePageAccess for', () => {
    const guarded = Object.fromEntries(Object.entries(pagesAndPermissions()).filter(([, p]) => p !== null));
    expect(guarded).toEqual(PAGE_PERMISSIONS);
  });

  it('answer 403 through forbidden(); signed-out visitors are redirected to sign in', async () => {
    const reviewer: Actor = { userId: 1, role: 'reviewer', email: 'r@example.test' };
    signedIn = reviewer;
    const refused = await requirePageAccess('dashboards.read', '/models').catch((error: unknown) => error);
    expect(digestOf(refused)).toBe('NEXT_HTTP_ERROR_FALLBACK;403');
    expect(await requirePageAccess('items.review', '/review')).toEqual({ allowed: true, actor: reviewer });
    signedIn = null;
    const redirected = await requirePageAccess('items.review', '/review').catch((error: unknown) => error);
    expect(digestOf(redirected)).toMatch(/^NEXT_REDIRECT;replace;\/signin\?callbackUrl=%2Freview;307;/);
  });

  it('the 403 page finds the permission from the path, dynamic segments and query included', () => {
    expect(pagePermission('/models')).toBe('dashboards.read');
    expect(pagePermission('/catalogues/demo/items/12')).toBe('catalogue.read');
    expect(pagePermission('/review/grid?catalogue=demo')).toBe('items.review');
    expect(pagePermission('/')).toBe('catalogue.read');
    expect(pagePermission('/nowhere')).toBeNull();
    expect(pagePermission(null)).toBeNull();
  });
});
