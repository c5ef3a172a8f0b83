/**
 * lib's queries end in forms both drizzle drivers have (db/client.ts): the awaited builder,
 * firstRow/onlyRow, a prepared query's execute(). SQLite's .get(), .all() and .run() exist only
 * on its driver; they stay in the files that run better-sqlite3 statements themselves (withSqlite).
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

describe('portable queries', () => {
  it('no lib file outside the better-sqlite3 paths calls .get(), .all() or .run() with no arguments', () => {
    const offenders = sources('lib').flatMap((file) => {
      const text = fs.readFileSync(file, 'utf8');
      if (/better-sqlite3|withSqlite/.test(text)) return [];
      return text
        .split('\n')
        .map((line, i) => ({ line, at: `${file}:${i + 1}` }))
        .filter(({ line }) => /\.(get|all|run)\(\)/.test(line) && !/\b(main|lane)\.run\(\)/.test(line))
        .map(({ at, line }) => `${at}: ${line.trim()}`);
    });
    expect(offenders).toEqual([]);
  });

  it('no lib or app file aliases a table with drizzle (the PostgreSQL driver renders a SQLite alias as a missing table)', () => {
    const offenders = [...sources('lib'), ...sources('app')].filter((file) =>
      /\balias\s*\(/.test(fs.readFileSync(file, 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});
