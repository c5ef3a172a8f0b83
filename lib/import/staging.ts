import type { Database, Statement } from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { dialectOf, pgExecute, withSqlite, withTransaction, type Db } from '@/db/client';
import { AppError } from '@/lib/errors';

/**
 * The two phases of an import (see IMPORT_STATES in db/schema): rows are checked and staged in
 * import_rows, then moved into items, each in transactions of IMPORT_CHUNK_ROWS rows. Nothing
 * here holds the write lock (or a web server's event loop) for more than a chunk's
 * milliseconds, and a crash at any point leaves the catalogue as if the import had not started
 * (crash while staging: rolled back) or finishes it (crash while moving: rolled forward).
 */

/**
 * On SQLite each step below runs better-sqlite3 statements on the connection itself; on
 * PostgreSQL the same statements run through drizzle's driver, a chunk's staged rows in one
 * multi-row INSERT (PG_SQL below).
 */

/** Rows per transaction: a chunk is about 15 ms to stage and 30 ms to move on the 2-core machine. */
export const IMPORT_CHUNK_ROWS = 2000;

/** An unfinished import whose heartbeat is this old was abandoned (its process died). */
export const IMPORT_HEARTBEAT_STALE_MS = 30_000;

/**
 * How staged rows become items, on both databases (`importId` and `upTo` are SQL: a placeholder
 * or a whole number). Holdout items are final as imported: never scored, routed or queued. Gold
 * items wait for a prediction to show reviewers (scoring then marks them reviewed, unrouted). The
 * ORDER BY gives items the file's order; the WHERE before it keeps SQLite's upsert parse unambiguous.
 */
function moveSql(importId: string, upTo: string): string {
  return `insert into items (catalogue_id, pixels, content_hash, source, source_row, external_id,
      import_label, current_label, label_source, status, eval_role, import_id)
    select imports.catalogue_id, r.pixels, r.content_hash, r.source, r.source_row, r.external_id, r.label, r.label,
      case when r.label is null then null else 'import' end,
      case when r.eval_role = 'holdout' then 'reviewed' else 'unscored' end,
      r.eval_role, r.import_id
    from import_rows r join imports on imports.id = r.import_id
    where r.import_id = ${importId} and r.seq < ${upTo}
    order by r.seq
    on conflict (catalogue_id, source, source_row) do nothing`;
}

const STAGING_SQL = {
  stageRow: `insert into import_rows (import_id, seq, pixels, content_hash, source, source_row, external_id, label, eval_role)
    values (@importId, @seq, @pixels, @contentHash, @source, @sourceRow, @externalId, @label, @evalRole)`,
  staged: `update imports set staged_count = @stagedCount, heartbeat_at = @now where id = @importId`,
  startMoving: `update imports set state = 'moving', heartbeat_at = @now where id = @importId and state = 'staging'`,
  move: moveSql('@importId', '@upTo'),
  unstage: `delete from import_rows where import_id = @importId and seq < @upTo`,
  moved: `update imports set inserted_count = inserted_count + @inserted, heartbeat_at = @now where id = @importId`,
  nextSeq: `select min(seq) from import_rows where import_id = ?`,
  lastSeq: `select max(seq) from import_rows where import_id = ?`,
  finish: `update imports set state = 'done', heartbeat_at = @now where id = @importId`,
  unfinished: `select id, catalogue_id as catalogueId, state, staged_count as stagedCount, item_count as itemCount,
      heartbeat_at as heartbeatAt
    from imports where state <> 'done' and (@catalogueId is null or catalogue_id = @catalogueId) order by id`,
  drop: `delete from imports where id = ? and state = 'staging'`,
} as const;

type StagingStatements = { [K in keyof typeof STAGING_SQL]: Statement };
const prepared = new WeakMap<Database, StagingStatements>();

function statements(db: Db): StagingStatements {
  let found = prepared.get(db.$client);
  if (!found) {
    found = Object.fromEntries(
      Object.entries(STAGING_SQL).map(([name, text]) => [name, db.$client.prepare(text)]),
    ) as StagingStatements;
    prepared.set(db.$client, found);
  }
  return found;
}

export interface StagedRow {
  seq: number;
  pixels: Buffer;
  contentHash: string;
  source: string;
  sourceRow: number;
  externalId: string | null;
  label: number | null;
  evalRole: 'holdout' | 'gold' | null;
}

/** Writes one chunk of checked rows to import_rows and beats the import's heartbeat. */
export function stageRows(db: Db, importId: number, rows: StagedRow[], stagedCount: number): Promise<void> {
  if (dialectOf(db) === 'postgres') return PG.stageRows(db, importId, rows, stagedCount);
  return withSqlite(db, () => {
    const s = statements(db);
    db.$client.transaction(() => {
      for (const row of rows) s.stageRow.run({ importId, ...row });
      s.staged.run({ importId, stagedCount, now: Date.now() });
    })();
  });
}

/** The import is decided: from here a crash rolls it forward. */
export async function startMoving(db: Db, importId: number): Promise<void> {
  const changed =
    dialectOf(db) === 'postgres'
      ? await PG.startMoving(db, importId)
      : await withSqlite(db, () => statements(db).startMoving.run({ importId, now: Date.now() }).changes);
  if (changed !== 1)
    throw new AppError('conflict', `Import ${importId} is no longer being staged; it was rolled back meanwhile.`);
}

/**
 * Moves the next chunk of staged rows into items (rows of the same file and row already
 * there are skipped: "already present") and deletes them from import_rows, in one
 * transaction. Returns the items written, or null when nothing was left to move.
 */
export function moveChunk(db: Db, importId: number): Promise<number | null> {
  if (dialectOf(db) === 'postgres') return PG.moveChunk(db, importId);
  return withSqlite(db, () => {
    const s = statements(db);
    return db.$client
      .transaction(() => {
        const next = s.nextSeq.pluck().get(importId) as number | null;
        if (next === null) return null;
        const upTo = next + IMPORT_CHUNK_ROWS;
        const inserted = s.move.run({ importId, upTo }).changes;
        s.unstage.run({ importId, upTo });
        s.moved.run({ importId, inserted, now: Date.now() });
        return inserted;
      })
      .immediate();
  });
}

export function finishImport(db: Db, importId: number): Promise<void> {
  if (dialectOf(db) === 'postgres') return PG.finishImport(db, importId);
  return withSqlite(db, () => {
    statements(db).finish.run({ importId, now: Date.now() });
  });
}

/** Removes an import that never reached 'moving', with its staged rows (cascade). */
export function dropStagedImport(db: Db, importId: number): Promise<void> {
  if (dialectOf(db) === 'postgres') return PG.dropStagedImport(db, importId);
  return withSqlite(db, () => {
    statements(db).drop.run(importId);
  });
}

export interface UnfinishedImport {
  id: number;
  catalogueId: number;
  state: 'staging' | 'moving';
  stagedCount: number;
  itemCount: number;
  heartbeatAt: number | null;
}

export function listUnfinishedImports(db: Db, catalogueId: number | null = null): Promise<UnfinishedImport[]> {
  if (dialectOf(db) === 'postgres') return PG.listUnfinishedImports(db, catalogueId);
  return withSqlite(db, () => {
    return statements(db).unfinished.all({ catalogueId }) as UnfinishedImport[];
  });
}

export function isAbandoned(row: UnfinishedImport, staleAfterMs = IMPORT_HEARTBEAT_STALE_MS): boolean {
  return row.heartbeatAt === null || Date.now() - row.heartbeatAt >= staleAfterMs;
}

export interface RecoveryReport {
  /** Imports that died while staging: removed, nothing of them was visible. */
  rolledBack: number[];
  /** Imports that died while moving: their remaining rows were added. */
  finished: number[];
}

/**
 * Ends imports whose process died (heartbeat older than IMPORT_HEARTBEAT_STALE_MS): one caught
 * while staging is removed; one caught while moving is finished. Runs before every import into
 * a catalogue and when Loupe starts; `staleAfterMs: 0` treats every unfinished import as
 * abandoned (for a caller that knows no import can be running).
 */
export async function recoverImports(
  db: Db,
  options: { catalogueId?: number; staleAfterMs?: number } = {},
): Promise<RecoveryReport> {
  const report: RecoveryReport = { rolledBack: [], finished: [] };
  for (const row of await listUnfinishedImports(db, options.catalogueId ?? null)) {
    if (!isAbandoned(row, options.staleAfterMs)) continue;
    if (row.state === 'staging') {
      await dropStagedImport(db, row.id);
      report.rolledBack.push(row.id);
    } else {
      while ((await moveChunk(db, row.id)) !== null);
      await finishImport(db, row.id);
      report.finished.push(row.id);
    }
  }
  return report;
}

/** The last staged seq of an import (tests: where a crash left it). */
export function lastStagedSeq(db: Db, importId: number): Promise<number | null> {
  if (dialectOf(db) === 'postgres') return PG.lastStagedSeq(db, importId);
  return withSqlite(db, () => {
    return statements(db).lastSeq.pluck().get(importId) as number | null;
  });
}

/** The steps above on PostgreSQL: the same statements, each step in its own transaction. */
const PG = {
  async stageRows(db: Db, importId: number, rows: StagedRow[], stagedCount: number): Promise<void> {
    await withTransaction(db, async (tx) => {
      if (rows.length > 0) {
        const values = rows.map(
          (r) =>
            sql`(${importId}, ${r.seq}, ${r.pixels}, ${r.contentHash}, ${r.source}, ${r.sourceRow}, ${r.externalId}, ${r.label}, ${r.evalRole})`,
        );
        await pgExecute(
          tx,
          sql`insert into import_rows (import_id, seq, pixels, content_hash, source, source_row, external_id, label, eval_role)
            values ${sql.join(values, sql`, `)}`,
        );
      }
      await pgExecute(
        tx,
        sql`update imports set staged_count = ${stagedCount}, heartbeat_at = ${Date.now()} where id = ${importId}`,
      );
    });
  },

  async startMoving(db: Db, importId: number): Promise<number> {
    return (
      await pgExecute(
        db,
        sql`update imports set state = 'moving', heartbeat_at = ${Date.now()} where id = ${importId} and state = 'staging'`,
      )
    ).rowCount;
  },

  moveChunk(db: Db, importId: number): Promise<number | null> {
    return withTransaction(
      db,
      async (tx) => {
        const next = (
          await pgExecute<{ next: number | null }>(
            tx,
            sql`select min(seq) as next from import_rows where import_id = ${importId}`,
          )
        ).rows[0]?.next;
        if (next === null || next === undefined) return null;
        const upTo = next + IMPORT_CHUNK_ROWS;
        const inserted = (await pgExecute(tx, sql.raw(moveSql(String(Math.trunc(importId)), String(Math.trunc(upTo))))))
          .rowCount;
        await pgExecute(tx, sql`delete from import_rows where import_id = ${importId} and seq < ${upTo}`);
        await pgExecute(
          tx,
          sql`update imports set inserted_count = inserted_count + ${inserted}, heartbeat_at = ${Date.now()} where id = ${importId}`,
        );
        return inserted;
      },
      { behavior: 'immediate' },
    );
  },

  async finishImport(db: Db, importId: number): Promise<void> {
    await pgExecute(db, sql`update imports set state = 'done', heartbeat_at = ${Date.now()} where id = ${importId}`);
  },

  async dropStagedImport(db: Db, importId: number): Promise<void> {
    await pgExecute(db, sql`delete from imports where id = ${importId} and state = 'staging'`);
  },

  async listUnfinishedImports(db: Db, catalogueId: number | null): Promise<UnfinishedImport[]> {
    const inCatalogue = catalogueId === null ? sql`` : sql` and catalogue_id = ${catalogueId}`;
    return (
      await pgExecute<UnfinishedImport>(
        db,
        sql`select id, catalogue_id as "catalogueId", state, staged_count as "stagedCount", item_count as "itemCount",
            heartbeat_at as "heartbeatAt"
          from imports where state <> 'done'${inCatalogue} order by id`,
      )
    ).rows;
  },

  async lastStagedSeq(db: Db, importId: number): Promise<number | null> {
    return (
      (
        await pgExecute<{ last: number | null }>(
          db,
          sql`select max(seq) as last from import_rows where import_id = ${importId}`,
        )
      ).rows[0]?.last ?? null
    );
  },
};
