/**
 * `npm run import -- --catalogue <slug> [--create [--name <name>] [--classes "a,b,c"]] <source>`
 * where <source> is one of
 *   --idx <dir> [--split t10k|train]            a Fashion-MNIST-style folder of IDX files
 *   --images-file <f> [--labels-file <f>]       one IDX images file, optionally labelled
 *   --csv <file>                                Kaggle layout: [label,]pixel1..pixel784
 *   --images <file-or-folder...> [--label <n>]  PNG/JPEG/WebP
 * and --holdout marks the (labelled) items as the catalogue's holdout: trusted labels that the
 * promotion gate measures on, never scored, queued or trained on; --gold marks them as gold
 * items: known labels mixed blind into reviewers' queues to measure reviewers, never routed or
 * trained on.
 *
 * Images already in the catalogue (the same pixels, under any file name or format) are skipped
 * and named in the summary; --keep-duplicates imports them anyway.
 *
 * Migrates the database first. Progress goes to stderr, a one-line summary to stdout; any
 * failure is one line `error: ...` and exit code 1. Re-running adds nothing already imported.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { getDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { AppError, badInput } from '@/lib/errors';
import { ensureCatalogue, findCatalogue, importCsv, importIdx, importImages, type ImportResult } from '@/lib/import';
import { describeDuplicates } from '@/lib/import/duplicates';
import { FASHION_MNIST_CLASSES } from '@/lib/ml/classes';
import { runCli } from './cli';
import { describeZodError } from '@/lib/validate';

const USAGE =
  'usage: npm run import -- --catalogue <slug> [--create [--name <name>] [--classes "a,b,c"]] ' +
  '(--idx <dir> [--split t10k|train] | --images-file <f> [--labels-file <f>] | --csv <file> | --images <paths...> [--label <n>]) [--holdout | --gold] [--keep-duplicates]';

const ImportArgs = z
  .object({
    catalogue: z.string().min(1),
    create: z.boolean().default(false),
    name: z.string().min(1).optional(),
    classes: z
      .string()
      .transform((text) => text.split(',').map((name) => name.trim()))
      .optional(),
    idx: z.string().min(1).optional(),
    split: z.enum(['t10k', 'train']).default('t10k'),
    imagesFile: z.string().min(1).optional(),
    labelsFile: z.string().min(1).optional(),
    csv: z.string().min(1).optional(),
    images: z.array(z.string().min(1)).optional(),
    label: z.coerce.number().int().min(0).optional(),
    holdout: z.boolean().default(false),
    gold: z.boolean().default(false),
    keepDuplicates: z.boolean().default(false),
  })
  .check((ctx) => {
    const { idx, imagesFile, csv, images } = ctx.value;
    if (ctx.value.holdout && ctx.value.gold)
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: 'an item is either holdout or gold: give one of --holdout and --gold',
      });
    const sources = [idx, imagesFile, csv, images].filter((source) => source !== undefined).length;
    if (sources !== 1) {
      ctx.issues.push({
        code: 'custom',
        input: ctx.value,
        message: 'give exactly one of --idx, --images-file, --csv or --images',
      });
    }
  });
export type ImportArgs = z.infer<typeof ImportArgs>;

export function parseImportArgs(argv: string[]): ImportArgs {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        catalogue: { type: 'string' },
        create: { type: 'boolean' },
        name: { type: 'string' },
        classes: { type: 'string' },
        idx: { type: 'string' },
        split: { type: 'string' },
        'images-file': { type: 'string' },
        'labels-file': { type: 'string' },
        csv: { type: 'string' },
        images: { type: 'string', multiple: true },
        label: { type: 'string' },
        holdout: { type: 'boolean' },
        gold: { type: 'boolean' },
        'keep-duplicates': { type: 'boolean' },
      },
    });
  } catch (error) {
    throw badInput(`${error instanceof Error ? error.message : String(error)}. ${USAGE}`);
  }
  const { values, positionals } = parsed;
  // `--images a.png b.png dir/`: parseArgs takes only the first; the rest arrive as positionals.
  if (positionals.length > 0 && values.images === undefined) {
    throw badInput(`unexpected argument "${positionals[0]}". ${USAGE}`);
  }
  const result = ImportArgs.safeParse({
    ...values,
    imagesFile: values['images-file'],
    labelsFile: values['labels-file'],
    keepDuplicates: values['keep-duplicates'],
    images: values.images === undefined ? undefined : [...(values.images as string[]), ...positionals],
  });
  if (!result.success) {
    throw badInput(`${describeZodError(result.error, { pathPrefix: '--', fallback: 'invalid arguments' })}. ${USAGE}`);
  }
  return result.data;
}

/** `<dir>/<name>` or `<dir>/<name>.gz`, as the Debian package and the original download ship. */
function locateIdxFile(dir: string, name: string): string {
  const found = [path.join(dir, name), path.join(dir, `${name}.gz`)].find((candidate) => fs.existsSync(candidate));
  if (!found) throw new AppError('not_found', `${path.join(dir, name)}[.gz]: file not found.`);
  return found;
}

function reportProgress(label: string) {
  let lastTenth = 0;
  return (done: number, total: number) => {
    if (total < 5000) return; // small imports finish before progress would help
    const tenth = Math.floor((10 * done) / total);
    if (tenth > lastTenth) {
      lastTenth = tenth;
      process.stderr.write(`${label}: ${done}/${total} items\n`);
    }
  };
}

export async function runImport(args: ImportArgs): Promise<ImportResult> {
  const db = getDb();
  await migrateDb(db);
  if (args.create) {
    await ensureCatalogue(db, {
      slug: args.catalogue,
      name: args.name ?? args.catalogue,
      classNames: args.classes ?? [...FASHION_MNIST_CLASSES],
    });
  } else if (!(await findCatalogue(db, args.catalogue))) {
    throw new AppError('not_found', `there is no catalogue "${args.catalogue}"; add --create to create it.`);
  }
  const catalogueSlug = args.catalogue;
  const onProgress = reportProgress(`importing into ${catalogueSlug}`);
  const evalRole = args.holdout ? ('holdout' as const) : args.gold ? ('gold' as const) : undefined;
  const { keepDuplicates } = args;
  if (args.idx !== undefined) {
    const imagesPath = locateIdxFile(args.idx, `${args.split}-images-idx3-ubyte`);
    const labelsPath = locateIdxFile(args.idx, `${args.split}-labels-idx1-ubyte`);
    return importIdx(db, { catalogueSlug, imagesPath, labelsPath, evalRole, onProgress, keepDuplicates });
  }
  if (args.imagesFile !== undefined) {
    return importIdx(db, {
      catalogueSlug,
      imagesPath: args.imagesFile,
      labelsPath: args.labelsFile,
      evalRole,
      onProgress,
      keepDuplicates,
    });
  }
  if (args.csv !== undefined)
    return importCsv(db, { catalogueSlug, path: args.csv, evalRole, onProgress, keepDuplicates });
  const { images = [], label } = args;
  return importImages(db, { catalogueSlug, paths: images, label, evalRole, onProgress, keepDuplicates });
}

/** The one-line summary on stdout. */
export function summarizeImport(
  args: Pick<ImportArgs, 'catalogue' | 'holdout' | 'gold'>,
  result: ImportResult,
): string {
  const what = args.holdout ? 'holdout ' : args.gold ? 'gold ' : '';
  const line = `imported ${result.total} ${what}items into ${args.catalogue}: ${result.inserted} new, ${result.alreadyPresent} already present (import #${result.importId}).`;
  const duplicates = describeDuplicates(result);
  if (!duplicates) return line;
  // The sentence ends with a full stop; the hint goes inside it.
  return `${line} ${result.duplicatesKept ? duplicates : `${duplicates.slice(0, -1)} (--keep-duplicates imports them anyway).`}`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === import.meta.filename) {
  void runCli(async () => {
    const args = parseImportArgs(process.argv.slice(2));
    const result = await runImport(args);
    console.log(summarizeImport(args, result));
  });
}
