import { and, eq, sql } from 'drizzle-orm';
import path from 'node:path';
import { firstRow, onlyRow, withTransaction, type Db, type Reader } from '@/db/client';
import { preparedPerHandle } from '@/db/prepared';
import { modelVersions, type ModelVersion } from '@/db/schema';
import { AppError } from '@/lib/errors';
import type { ModelMeta } from '@/lib/ml/model-store';
import { ShippedModelMetrics } from './metrics';

// Read by every claim and submit: prepared once per handle (db/prepared.ts).
const activeModelOf = preparedPerHandle((db: Reader) =>
  db
    .select()
    .from(modelVersions)
    .where(and(eq(modelVersions.catalogueId, sql.placeholder('catalogueId')), eq(modelVersions.status, 'active')))
    .prepare(),
);

/** The catalogue's active model version, or null before any model was registered. */
export async function findActiveModel(db: Reader, catalogueId: number): Promise<ModelVersion | null> {
  return await activeModelOf(db).execute({ catalogueId }).then(firstRow) ?? null;
}

export async function requireActiveModel(db: Db, catalogueId: number): Promise<ModelVersion> {
  const model = await findActiveModel(db, catalogueId);
  if (!model) throw new AppError('not_found', 'This catalogue has no active model yet: register one before scoring.');
  return model;
}

/**
 * Registers a trained model folder as the catalogue's active version when it has none (the
 * shipped model on first start). Weights stay where they are; the row points at them.
 */
export async function registerInitialModel(db: Db, input: { catalogueId: number; name: string; dir: string; meta: ModelMeta }): Promise<ModelVersion> {
  return await withTransaction(db, async (tx) => {
      const existing = await findActiveModel(tx, input.catalogueId);
      if (existing) return existing;
      return await tx
        .insert(modelVersions)
        .values({
          catalogueId: input.catalogueId,
          name: input.name,
          arch: input.meta.arch,
          weightsPath: path.resolve(input.dir),
          temperature: input.meta.temperature,
          metrics: ShippedModelMetrics.parse({
            validation: input.meta.validation,
            params: input.meta.params,
            trainImagesPerSecond: input.meta.trainImagesPerSecond,
          }),
          status: 'active',
          promotedAt: new Date(),
        })
        .returning().then(onlyRow);
    }, { behavior: 'immediate' });
}
