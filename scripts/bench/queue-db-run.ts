import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { fillQueueDatabase, measureQueueDb } from '@/scripts/bench/queue-db';

// npx tsx scripts/bench/queue-db-run.ts [--items 1000000] [--decisions 3000] [--template FILE] [--pragma 'cache_size = -65536' ...]
// The queue-db section alone, for working on the queue: with --template, the filled database is
// kept in FILE (made on the first run) and copied for each run, so a 1M-item fill happens once.
const { values } = parseArgs({
  options: {
    items: { type: 'string', default: '1000000' },
    decisions: { type: 'string', default: '3000' },
    grids: { type: 'string', default: '100' },
    reviewers: { type: 'string', default: '20' },
    template: { type: 'string' },
    pragma: { type: 'string', multiple: true },
  },
});
const itemCount = Number(values.items);
const log = (line: string) => console.error(`[queue-db] ${line}`);
if (values.template && !fs.existsSync(values.template)) {
  const started = performance.now();
  await fillQueueDatabase(`${values.template}.tmp`, itemCount);
  fs.renameSync(`${values.template}.tmp`, values.template);
  log(`template ${values.template} filled in ${Math.round((performance.now() - started) / 1000)} s`);
}
const report = await measureQueueDb({
  itemCount,
  reviewers: Number(values.reviewers),
  decisions: Number(values.decisions),
  warmup: 200,
  gridSize: 25,
  grids: Number(values.grids),
  template: values.template,
  pragmas: values.pragma,
  log,
});
console.log(JSON.stringify(report, null, 2));
