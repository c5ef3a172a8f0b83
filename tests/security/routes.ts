import fs from 'node:fs';
import path from 'node:path';

/** The HTTP methods a route.ts may export. */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type Method = (typeof METHODS)[number];

export interface RouteFile {
  /** e.g. /api/v1/catalogues/[slug]/threshold */
  pattern: string;
  /** Path of the route.ts, relative to the repository root. */
  file: string;
  /** Dynamic segments in order: ['slug'], ['nextauth'] (catch-all) ... */
  params: { name: string; catchAll: boolean }[];
}

const ROOT = path.resolve(import.meta.dirname, '../..');

/** Every app/api/**\/route.ts, found by walking the folder: a new route shows up by itself. */
export function walkApiRoutes(): RouteFile[] {
  const found: RouteFile[] = [];
  const visit = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) visit(full);
      else if (entry.name === 'route.ts' || entry.name === 'route.tsx') {
        const relative = path.relative(path.join(ROOT, 'app'), path.dirname(full));
        const segments = relative.split(path.sep).filter((s) => !/^\(.*\)$/.test(s));
        found.push({
          pattern: `/${segments.join('/')}`,
          file: path.relative(ROOT, full),
          params: segments
            .filter((s) => s.startsWith('['))
            .map((s) => ({ name: s.replace(/^\[+(\.\.\.)?|\]+$/g, ''), catchAll: s.includes('...') })),
        });
      }
    }
  };
  visit(path.join(ROOT, 'app', 'api'));
  return found.sort((a, b) => a.pattern.localeCompare(b.pattern));
}

/** The route module's exported HTTP handlers. */
export async function loadHandlers(
  route: RouteFile,
): Promise<Partial<Record<Method, (request: Request, context: { params: Promise<unknown> }) => Promise<Response>>>> {
  const exported = (await import(/* @vite-ignore */ path.join(ROOT, route.file))) as Record<string, unknown>;
  return Object.fromEntries(
    METHODS.filter((m) => typeof exported[m] === 'function').map((m) => [m, exported[m]]),
  ) as never;
}

/** The URL and params for one route with the given values for its dynamic segments. */
export function instantiate(
  route: RouteFile,
  values: Record<string, string>,
): { url: string; params: Record<string, string | string[]> } {
  const params: Record<string, string | string[]> = {};
  let pathname = route.pattern;
  for (const { name, catchAll } of route.params) {
    const value = values[name] ?? '1';
    params[name] = catchAll ? value.split('/') : value;
    pathname = pathname.replace(catchAll ? `[...${name}]` : `[${name}]`, value);
  }
  return { url: `http://localhost${pathname}`, params };
}
