import { parseArgs } from 'node:util';
import { z } from 'zod';
import { getDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { badInput } from '@/lib/errors';
import { registerFirstModel } from '@/lib/models/register';
import { runCli } from './cli';
import { describeZodError } from '@/lib/validate';

/**
 * `npm run register-model -- --catalogue <slug> --model <dir> [--name <name>]`: gives a
 * catalogue without a model (one created on the Import page) its first one, a folder written
 * by `npm run train`. The running worker scores the catalogue's items on its next pass.
 */
const USAGE = 'usage: npm run register-model -- --catalogue <slug> --model <model dir> [--name <version name>]';

const RegisterArgs = z.object({
  catalogue: z.string().min(1),
  model: z.string().min(1),
  name: z.string().min(1).max(100).optional(),
});

await runCli(async () => {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      strict: true,
      options: { catalogue: { type: 'string' }, model: { type: 'string' }, name: { type: 'string' } },
    }).values;
  } catch (error) {
    throw badInput(`${error instanceof Error ? error.message : String(error)}. ${USAGE}`);
  }
  const parsed = RegisterArgs.safeParse(values);
  if (!parsed.success) {
    throw badInput(`${describeZodError(parsed.error, { pathPrefix: '--', fallback: 'invalid arguments' })}. ${USAGE}`);
  }
  const db = getDb();
  await migrateDb(db);
  const { model, catalogue } = await registerFirstModel(db, {
    catalogueSlug: parsed.data.catalogue,
    dir: parsed.data.model,
    name: parsed.data.name,
  });
  console.log(
    JSON.stringify({ catalogue, model: { id: model.id, name: model.name, arch: model.arch, status: model.status } }),
  );
  console.error(`${catalogue}: ${model.name} is its active model; the worker scores its items on its next pass.`);
});
