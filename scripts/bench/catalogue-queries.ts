import type { Db } from '@/db/client';
import type { Actor } from '@/lib/auth/permissions';
import { listItems, type ItemQuery } from '@/lib/catalogue/browse';
import { EXPORT_CHUNK_ROWS, exportLabels, type ExportFormat } from '@/lib/catalogue/export';
import type { SyntheticCatalogue } from './catalogue-fixture';

type Case = Omit<ItemQuery, 'catalogue' | 'page' | 'pageSize' | 'sort' | 'dir'> &
  Partial<Pick<ItemQuery, 'page' | 'pageSize' | 'sort' | 'dir'>>;

export interface QueryFigure {
  name: string;
  query: Case;
  total: number;
  /** listItems as the route calls it: the page and its count. */
  medianMs: number;
  maxMs: number;
  /** Each statement listItems ran, with SQLite's EXPLAIN QUERY PLAN. */
  plans?: { sql: string; plan: string[] }[];
}

const ACTOR: Actor = { userId: 0, role: 'ops', email: 'bench@example.test' };

function cases(itemCount: number): { name: string; query: Case }[] {
  return [
    { name: 'first page, by id', query: {} },
    { name: 'last page, by id', query: { page: Math.ceil(itemCount / 50) } },
    { name: 'least confident first', query: { sort: 'confidence', dir: 'asc' } },
    { name: 'most confident first', query: { sort: 'confidence', dir: 'desc' } },
    { name: 'least confident, page 1000', query: { sort: 'confidence', dir: 'asc', page: 1000 } },
    { name: 'needs review, least confident first', query: { status: 'needs_review', sort: 'confidence', dir: 'asc' } },
    { name: 'predicted Shirt, least confident first', query: { predicted: 6, sort: 'confidence', dir: 'asc' } },
    { name: 'confidence 0.3-0.6, by id', query: { minConfidence: 0.3, maxConfidence: 0.6 } },
    { name: 'human labels, newest id first', query: { labelSource: 'human', sort: 'id', dir: 'desc' } },
    { name: 'label Dress, by predicted class', query: { label: 3, sort: 'predicted', dir: 'asc' } },
    { name: 'by status desc, page 100', query: { sort: 'status', dir: 'desc', page: 100 } },
    { name: 'by current label, page 1', query: { sort: 'label', dir: 'asc' } },
    {
      name: 'least confident, last page (unscored tail)',
      query: { sort: 'confidence', dir: 'asc', page: Math.ceil(itemCount / 50) },
    },
    { name: 'unscored only, by id', query: { status: 'unscored' } },
    {
      name: 'needs review + predicted Shirt + confidence <= 0.7, least confident',
      query: { status: 'needs_review', predicted: 6, maxConfidence: 0.7, sort: 'confidence' },
    },
  ];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Runs `fn` while recording the statements prepared on the connection, then explains them. */
async function explainStatements(db: Db, fn: () => unknown): Promise<{ sql: string; plan: string[] }[]> {
  const client = db.$client;
  const prepare = client.prepare.bind(client);
  const seen: string[] = [];
  client.prepare = ((source: string) => {
    seen.push(source);
    return prepare(source);
  }) as typeof client.prepare;
  try {
    await fn();
  } finally {
    client.prepare = prepare;
  }
  // Parameters do not change a plan's shape here, and EXPLAIN needs values: bind nulls.
  return seen.map((source) => {
    const statement = prepare(`explain query plan ${source}`);
    const rows = statement.all(...new Array(countParameters(source)).fill(null)) as { detail: string }[];
    return { sql: source, plan: rows.map((row) => row.detail) };
  });
}

function countParameters(source: string): number {
  return source.split('?').length - 1;
}

/** Times each browsing query (median of `runs`, after one warm-up) on the synthetic catalogue. */
export async function measureCatalogueQueries(
  db: Db,
  options: { fixture: SyntheticCatalogue; runs: number; plans: boolean; log: (line: string) => void },
): Promise<{ queries: QueryFigure[]; exports: ExportFigure[] }> {
  const figures: QueryFigure[] = [];
  for (const { name, query } of cases(options.fixture.itemCount)) {
    const input = { ...query, catalogue: options.fixture.slug, actor: ACTOR };
    const times: number[] = [];
    let total = 0;
    for (let run = 0; run <= options.runs; run++) {
      const started = performance.now();
      total = (await listItems(db, input)).total;
      if (run > 0) times.push(performance.now() - started);
    }
    const figure: QueryFigure = {
      name,
      query,
      total,
      medianMs: round(median(times)),
      maxMs: round(Math.max(...times)),
    };
    if (options.plans) figure.plans = await explainStatements(db, async () => await listItems(db, input));
    options.log(`${name}: ${figure.medianMs} ms (total ${total})`);
    figures.push(figure);
  }
  const exports: ExportFigure[] = [];
  for (const format of ['csv', 'json'] as const) {
    const figure = await measureExport(db, { slug: options.fixture.slug, format });
    options.log(`export ${format}: ${figure.ms} ms, ${figure.bytes} bytes, longest chunk ${figure.longestChunkMs} ms`);
    exports.push(figure);
  }
  if (options.plans) {
    const plans = await explainStatements(db, async () =>
      (await exportLabels(db, { catalogue: options.fixture.slug, format: 'csv', actor: ACTOR })).body
        .getReader()
        .read(),
    );
    exports[0]!.plans = plans;
  }
  return { queries: figures, exports };
}

export interface ExportFigure {
  format: ExportFormat;
  ms: number;
  bytes: number;
  /** The longest single pull: how long the export holds the event loop (and the connection) at once. */
  longestChunkMs: number;
  chunkRows: number;
  plans?: { sql: string; plan: string[] }[];
}

async function measureExport(db: Db, input: { slug: string; format: ExportFormat }): Promise<ExportFigure> {
  const started = performance.now();
  const reader = (
    await exportLabels(db, { catalogue: input.slug, format: input.format, actor: ACTOR })
  ).body.getReader();
  let bytes = 0;
  let longest = 0;
  for (;;) {
    const pulled = performance.now();
    const { done, value } = await reader.read();
    longest = Math.max(longest, performance.now() - pulled);
    if (done) break;
    bytes += value.byteLength;
  }
  return {
    format: input.format,
    ms: round(performance.now() - started),
    bytes,
    longestChunkMs: round(longest),
    chunkRows: EXPORT_CHUNK_ROWS,
  };
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
