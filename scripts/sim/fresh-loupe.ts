import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { openDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import type { Actor } from '@/lib/auth/permissions';
import { createUserAsSystem } from '@/lib/auth/users';
import { ensureCatalogue, importIdx } from '@/lib/import';
import { bundledDatasetDir, HOLDOUT_FILES } from '@/lib/learning/demo-data';
import { getRetrainPolicy, setRetrainPolicy } from '@/lib/learning/schedule';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { readModelMeta } from '@/lib/ml/model-store';
import { registerInitialModel } from '@/lib/models/active';

export interface Credentials {
  email: string;
  password: string;
}

export interface FreshLoupe {
  dbPath: string;
  modelsDir: string;
  catalogue: string;
  admin: Credentials;
  reviewers: Credentials[];
}

/** bcrypt cost for the simulation's throw-away accounts: they guard nothing but a temp folder. */
const SIM_PASSWORD_COST = 4;

/**
 * A new Loupe database in `dir` for a simulation: a Fashion-MNIST catalogue with no items yet
 * (the simulator streams them in through the import API), its holdout (the bundled 5,000
 * validation images, which the promotion gate measures on), `baseModelDir` as its active
 * model, an admin and `reviewerCount` reviewer accounts with random passwords, and the retrain
 * policy's label count. What happens next goes through the HTTP API only.
 */
export async function prepareFreshLoupe(input: {
  dir: string;
  baseModelDir: string;
  reviewerCount: number;
  minNewLabels?: number;
}): Promise<FreshLoupe> {
  const dbPath = path.join(input.dir, 'loupe.db');
  const db = openDb(dbPath);
  try {
    await migrateDb(db);
    const catalogue = await ensureCatalogue(db, {
      slug: 'sim',
      name: 'Fashion-MNIST (simulation)',
      classNames: [...FASHION_MNIST_CLASSES],
    });
    const holdoutDir = bundledDatasetDir();
    await importIdx(db, {
      catalogueSlug: catalogue.slug,
      imagesPath: path.join(holdoutDir, HOLDOUT_FILES.images),
      labelsPath: path.join(holdoutDir, HOLDOUT_FILES.labels),
      evalRole: 'holdout',
    });
    const meta = readModelMeta(input.baseModelDir);
    await registerInitialModel(db, {
      catalogueId: catalogue.id,
      name: `base-${meta.arch}`,
      dir: path.resolve(input.baseModelDir),
      meta,
    });
    const accounts: { credentials: Credentials; actor: Actor }[] = [];
    const account = async (email: string, name: string, role: 'admin' | 'reviewer') => {
      const password = randomBytes(12).toString('base64url');
      const user = await createUserAsSystem(db, { email, name, role, password, passwordCost: SIM_PASSWORD_COST });
      accounts.push({
        credentials: { email, password },
        actor: { userId: user.id, role: user.role, email: user.email },
      });
      return accounts.at(-1)!;
    };
    const admin = await account('sim-admin@loupe.sim', 'Simulation Admin', 'admin');
    const reviewers: Credentials[] = [];
    for (let i = 1; i <= input.reviewerCount; i++)
      reviewers.push((await account(`sim-reviewer-${i}@loupe.sim`, `Simulated Reviewer ${i}`, 'reviewer')).credentials);
    if (input.minNewLabels !== undefined) {
      const policy = await getRetrainPolicy(db, catalogue.id);
      await setRetrainPolicy(db, {
        actor: admin.actor,
        catalogueId: catalogue.id,
        policy: { ...policy, minNewLabels: input.minNewLabels },
      });
    }
    return {
      dbPath,
      modelsDir: path.join(input.dir, 'models'),
      catalogue: catalogue.slug,
      admin: admin.credentials,
      reviewers,
    };
  } finally {
    db.$client.close();
  }
}
