import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Actor } from '@/lib/auth/permissions';
import { readFigure } from '@/lib/dashboards';
import { makeFixture, tempDir, type Fixture } from '../review/fixtures';

// The route asks next-auth for the session; here the test decides who is signed in.
let signedIn: Actor | null = null;
vi.mock('@/lib/auth/current-actor', () => ({ getCurrentActor: async () => signedIn }));

const { GET } = await import('@/app/api/v1/catalogues/[slug]/dashboards/[figure]/route');

const tmp = tempDir('loupe-dashboards-route-');
let f: Fixture;

beforeAll(async () => {
  f = await makeFixture(tmp.dir, [
    { predictedClass: 0, status: 'needs_review' },
    { predictedClass: 1, status: 'needs_review' },
    { predictedClass: 1, status: 'auto_accepted' },
  ]);
  // getDb() serves the process's cached connection: point it at the fixture.
  (globalThis as { __loupeDb?: unknown }).__loupeDb = f.db;
});
afterAll(() => {
  delete (globalThis as { __loupeDb?: unknown }).__loupeDb;
  tmp.cleanup();
});

function get(figure: string, slug = 'demo') {
  return GET(new Request(`http://localhost/api/v1/catalogues/${slug}/dashboards/${figure}`), {
    params: Promise.resolve({ slug, figure }),
  });
}

function parseCsv(text: string): string[][] {
  return text
    .trimEnd()
    .split('\r\n')
    .map((line) => line.split(','));
}

describe('GET /api/v1/catalogues/:slug/dashboards/:figure.csv', () => {
  it('serves the numbers of the lib function as CSV for ops and admins', async () => {
    for (const actor of [f.ops, f.admin]) {
      signedIn = actor;
      const response = await get('queue-now.csv');
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
      expect(response.headers.get('content-disposition')).toBe('attachment; filename="demo-queue-now.csv"');
      const [header, row] = parseCsv(await response.text());
      const figure = await readFigure(f.db, { actor, catalogue: 'demo', figure: 'queue-now' });
      expect(header).toEqual(figure.columns);
      expect(row![0]).toBe('2');
      expect(Number(row![0])).toBe(figure.rows[0]!.waiting);
    }
    signedIn = f.ops;
    const flow = parseCsv(await (await get('queue-flow.csv')).text());
    const figure = await readFigure(f.db, { actor: f.ops, catalogue: 'demo', figure: 'queue-flow' });
    expect(flow.slice(1).map(([, into, out]) => [Number(into), Number(out)])).toEqual(
      figure.rows.map((r) => [r.in, r.out]),
    );
    expect(flow.slice(1).reduce((sum, [, into]) => sum + Number(into), 0)).toBe(2);
  });

  it('serves JSON without the .csv suffix', async () => {
    signedIn = f.ops;
    const body = (await (await get('overrides')).json()) as { id: string; source: string };
    expect(body).toMatchObject({ id: 'overrides', source: 'reviewed' });
  });

  it('refuses reviewers (403) and signed-out visitors (401), and names unknown figures (400)', async () => {
    signedIn = f.reviewer;
    expect((await get('queue-now.csv')).status).toBe(403);
    signedIn = null;
    expect((await get('queue-now.csv')).status).toBe(401);
    signedIn = f.ops;
    const unknown = await get('pie.csv');
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(/a figure is one of/);
    expect((await get('queue-now.csv', 'hats')).status).toBe(404);
  });
});
