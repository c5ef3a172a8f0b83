import path from 'node:path';
import type { Db } from '@/db/client';
import type { ModelVersion } from '@/db/schema';
import { requireCatalogue } from '@/lib/catalogues';
import { AppError } from '@/lib/errors';
import { readModelMeta } from '@/lib/ml/model-store';
import { findActiveModel, registerInitialModel } from '@/lib/models/active';

/**
 * Gives a catalogue without a model its first one (`npm run register-model`): a trained model
 * folder becomes its active version, and the worker then scores its items on its next pass.
 * A catalogue that already has an active model is refused: later versions come from
 * fine-tuning and the promotion gate, not from here.
 */
export async function registerFirstModel(
  db: Db,
  input: { catalogueSlug: string; dir: string; name?: string },
): Promise<{ model: ModelVersion; catalogue: string }> {
  const catalogue = await requireCatalogue(db, input.catalogueSlug);
  const existing = await findActiveModel(db, catalogue.id);
  if (existing)
    throw new AppError(
      'conflict',
      `Catalogue "${catalogue.slug}" already has an active model (${existing.name}); new versions come from training on the Models page.`,
    );
  const dir = path.resolve(input.dir);
  const meta = readModelMeta(dir);
  if (meta.classNames.length !== catalogue.classNames.length)
    throw new AppError(
      'bad_input',
      `The model at ${dir} has ${meta.classNames.length} classes; catalogue "${catalogue.slug}" has ${catalogue.classNames.length} (${catalogue.classNames.join(', ')}).`,
    );
  const model = await registerInitialModel(db, {
    catalogueId: catalogue.id,
    name: input.name ?? `${path.basename(dir)}-${meta.arch}`,
    dir,
    meta,
  });
  return { model, catalogue: catalogue.slug };
}
