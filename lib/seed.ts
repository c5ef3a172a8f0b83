import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import type { Db } from '@/db/client';
import { catalogues, users } from '@/db/schema';
import { createUserAsSystem } from '@/lib/auth/users';
import { getEnv } from '@/lib/env';
import { ensureCatalogue, importIdx } from '@/lib/import';
import { bundledDatasetDir, HOLDOUT_FILES } from '@/lib/learning/demo-data';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { readModelMeta } from '@/lib/ml/model-store';
import { registerInitialModel } from '@/lib/models/active';

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
    db
      .select({ n: sql<number>`count(*)` })
      .from(catalogues)
      .get()?.n ?? 0;
  if (existing > 0) return false;
  const modelDir = getEnv().LOUPE_MODEL_DIR;
  const meta = readModelMeta(modelDir);
  const catalogue = ensureCatalogue(db, DEMO_CATALOGUE);
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
  registerInitialModel(db, { catalogueId: catalogue.id, name: `shipped-${meta.arch}`, dir: modelDir, meta });
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
    db
      .select({ n: sql<number>`count(*)` })
      .from(users)
      .get()?.n ?? 0;
  if (existing > 0) return [];
  for (const user of DEMO_USERS) await createUserAsSystem(db, user);
  return DEMO_USERS;
}
