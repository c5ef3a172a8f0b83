import crypto from 'node:crypto';
import path from 'node:path';
import type { Db } from '@/db/client';
import { ensureCatalogue } from '@/lib/catalogues';
import { FASHION_MNIST_CLASSES, PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { readModelMeta } from '@/lib/ml/model-store';
import { registerInitialModel } from '@/lib/models/active';

/**
 * A catalogue of `count` unscored items for the scoring benchmark: real images (t10k, repeated
 * with one pixel changed so every item is its own), 5% imported with a label, 1% gold items, the
 * rest unlabelled; the shipped model registered as its active version. Raw statements in one
 * transaction.
 */
export async function fillUnscoredCatalogue(
  db: Db,
  options: {
    count: number;
    images: Uint8Array;
    imageCount: number;
    labels: Uint8Array;
    modelDir: string;
    slug?: string;
  },
): Promise<{ catalogueId: number; modelVersionId: number }> {
  const slug = options.slug ?? 'score-bench';
  const catalogue = await ensureCatalogue(db, {
    slug,
    name: 'Scoring benchmark',
    classNames: [...FASHION_MNIST_CLASSES],
  });
  const model = await registerInitialModel(db, {
    catalogueId: catalogue.id,
    name: 'shipped',
    dir: path.resolve(options.modelDir),
    meta: readModelMeta(options.modelDir),
  });
  const insert = db.$client.prepare(
    `insert into items (catalogue_id, pixels, content_hash, source, source_row, current_label, import_label, label_source, eval_role)
     values (?, ?, ?, 'score-bench.idx', ?, ?, ?, ?, ?)`,
  );
  db.$client.transaction(() => {
    for (let row = 0; row < options.count; row++) {
      const image = row % options.imageCount;
      const pixels = Buffer.from(options.images.subarray(image * PIXELS_PER_IMAGE, (image + 1) * PIXELS_PER_IMAGE));
      // Repeats differ in their first pixel (the corner, background in Fashion-MNIST).
      pixels[0] = Math.floor(row / options.imageCount) % 256;
      const hash = crypto.createHash('sha256').update(pixels).digest('hex');
      const label = options.labels[image]!;
      const role = row % 100 === 0 ? 'gold' : null;
      const imported = role === null && row % 20 === 1;
      insert.run(
        catalogue.id,
        pixels,
        hash,
        row,
        role || imported ? label : null,
        role || imported ? label : null,
        role ? 'import' : imported ? 'import' : null,
        role,
      );
    }
  })();
  return { catalogueId: catalogue.id, modelVersionId: model.id };
}
