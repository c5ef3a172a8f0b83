import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { openDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { fillSyntheticCatalogue } from '@/scripts/bench/catalogue-fixture';
import { measureCatalogueQueries } from '@/scripts/bench/catalogue-queries';
import { runCli } from '@/scripts/cli';

const Args = z.object({
  items: z.coerce.number().int().min(1).max(2_000_000).default(100_000),
  runs: z.coerce.number().int().min(1).max(100).default(7),
  plans: z.boolean().default(false),
});

// npx tsx scripts/bench-catalogue.ts [--items 100000] [--runs 7] [--plans]
// Builds a synthetic catalogue in a temp database, times the browser's and the export's queries;
// one JSON object on stdout (with --plans, each query's EXPLAIN QUERY PLAN too).
await runCli(async () => {
  const { values } = parseArgs({
    options: { items: { type: 'string' }, runs: { type: 'string' }, plans: { type: 'boolean' } },
  });
  const args = Args.parse(values);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-catalogue-'));
  try {
    const db = openDb(path.join(dir, 'bench.db'));
    await migrateDb(db);
    const started = performance.now();
    const fixture = await fillSyntheticCatalogue(db, { itemCount: args.items });
    console.error(`[bench] ${args.items} items in ${Math.round(performance.now() - started)} ms`);
    const report = await measureCatalogueQueries(db, {
      fixture,
      runs: args.runs,
      plans: args.plans,
      log: (line) => console.error(`[bench] ${line}`),
    });
    console.log(
      JSON.stringify(
        { items: args.items, runs: args.runs, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, ...report },
        null,
        2,
      ),
    );
    db.$client.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
