import { eq, sql } from 'drizzle-orm';
import { getDb } from '@/db/client';
import { catalogues, modelVersions } from '@/db/schema';
import { readWorkerStatus } from '@/lib/jobs/worker-status';

export interface Health {
  ok: boolean;
  database: { ok: boolean; error?: string };
  models: { catalogue: string; version: string; arch: string; id: number }[];
  /** The TensorFlow.js backend of the worker, which runs every model; null before it started. */
  mlBackend: string | null;
  worker: {
    running: boolean;
    pid: number;
    threads: number | null;
    updatedAt: string;
    job: { id: number; kind: string } | null;
  } | null;
}

/** What /api/v1/health reports: the database, each catalogue's active model, the ML backend. */
export function checkHealth(): Health {
  let database: Health['database'] = { ok: true };
  let models: Health['models'] = [];
  try {
    const db = getDb();
    db.run(sql`select 1`);
    models = db
      .select({
        catalogue: catalogues.slug,
        version: modelVersions.name,
        arch: modelVersions.arch,
        id: modelVersions.id,
      })
      .from(modelVersions)
      .innerJoin(catalogues, eq(catalogues.id, modelVersions.catalogueId))
      .where(eq(modelVersions.status, 'active'))
      .all();
  } catch {
    database = { ok: false, error: 'The database could not be read.' };
  }
  const status = readWorkerStatus();
  return {
    ok: database.ok,
    database,
    models,
    mlBackend: status?.backend ?? null,
    worker: status
      ? {
          running: !status.stale,
          pid: status.pid,
          threads: status.threads,
          updatedAt: status.updatedAt,
          job: status.job ?? null,
        }
      : null,
  };
}
