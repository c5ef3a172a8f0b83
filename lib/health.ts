import { eq, sql } from 'drizzle-orm';
import { getDb } from '@/db/client';
import { catalogues, modelVersions } from '@/db/schema';
import { initBackend } from '@/lib/ml/backend';

export interface Health {
  ok: boolean;
  database: { ok: boolean; error?: string };
  models: { catalogue: string; version: string; arch: string; id: number }[];
  mlBackend: string | null;
}

/** What /api/v1/health reports: the database, each catalogue's active model, the ML backend. */
export async function checkHealth(): Promise<Health> {
  let database: Health['database'] = { ok: true };
  let models: Health['models'] = [];
  try {
    const db = getDb();
    db.run(sql`select 1`);
    models = db
      .select({ catalogue: catalogues.slug, version: modelVersions.name, arch: modelVersions.arch, id: modelVersions.id })
      .from(modelVersions)
      .innerJoin(catalogues, eq(catalogues.id, modelVersions.catalogueId))
      .where(eq(modelVersions.status, 'active'))
      .all();
  } catch {
    database = { ok: false, error: 'The database could not be read.' };
  }
  let mlBackend: string | null = null;
  try {
    mlBackend = await initBackend();
  } catch {
    mlBackend = null;
  }
  return { ok: database.ok && mlBackend !== null, database, models, mlBackend };
}
