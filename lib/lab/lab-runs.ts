import { jsonNumber, jsonText } from '@/db/dialect';
/**
 * Model-lab runs as data: starting one (a row and its `lab` job, in one transaction), the list
 * and one run with its results for the page, and asking for a lab model to become a candidate.
 * No TensorFlow.js here: the web server calls these; the worker trains (lib/lab/lab-jobs.ts).
 */
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, type Reader, withTransaction, firstRow, onlyRow } from '@/db/client';
import {
  catalogues,
  items,
  jobs,
  labResults,
  labRuns,
  modelVersions,
  type Job,
  type LabResultRow,
  type LabRun,
} from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { requireCatalogue, requireCatalogueById } from '@/lib/catalogues';
import { AppError } from '@/lib/errors';
import { LEARNING_RATE_SCHEDULES } from '@/lib/ml/schedules';
import { parseInput } from '@/lib/validate';
import { isRegistrableArchitecture, LAB_ARCHITECTURES } from './architectures';

const int = (min: number, max: number) =>
  z.coerce
    .number()
    .int(`must be a whole number from ${min} to ${max}`)
    .min(min, `must be a whole number from ${min} to ${max}`)
    .max(max, `must be a whole number from ${min} to ${max}`);

/** How a lab run trains; the defaults finish in a few minutes on two cores (logreg, mlp, forest). */
export const LabRunSettings = z.object({
  epochs: int(1, 50).default(5),
  /** Training images sampled (class-balanced) from the catalogue's pool; a tenth validates. */
  trainSize: int(200, 60000).default(5000),
  /** Holdout items measured on (a seeded sample when the holdout is larger). */
  testSize: int(50, 10000).default(2000),
  trees: int(1, 300).default(50),
  augment: z.boolean().default(false),
  /** The networks' learning rate: halved on a plateau, or cosine down to 0 over the epochs (lib/ml/train). */
  schedule: z
    .enum(LEARNING_RATE_SCHEDULES, { error: `must be one of ${LEARNING_RATE_SCHEDULES.join(', ')}` })
    .default('plateau'),
  seed: int(0, 2 ** 31 - 1).default(42),
});
export type LabRunSettings = z.infer<typeof LabRunSettings>;

const SCHEDULE_TEXT: Record<LabRunSettings['schedule'], string> = {
  plateau: 'learning rate halved on a plateau',
  cosine: 'cosine learning rate',
};

/**
 * A run's settings in one line, as the lab page shows them beside its results. `used`: the images
 * the run actually trained on (validation set aside) and measured on, once it has started; a
 * catalogue with fewer than asked gives fewer. Before that, the sizes asked for.
 */
export function describeLabRunSettings(
  settings: LabRunSettings,
  archs: readonly string[],
  used: { train: number | null; test: number | null } = { train: null, test: null },
): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const parts = [
    used.train === null ? `${n(settings.trainSize)} training images asked` : `${n(used.train)} training images`,
    used.test === null ? `${n(settings.testSize)} holdout items asked` : `${n(used.test)} holdout items`,
  ];
  if (archs.some((a) => a !== 'logreg' && a !== 'forest'))
    parts.push(`${settings.epochs} epoch${settings.epochs === 1 ? '' : 's'}`, SCHEDULE_TEXT[settings.schedule]);
  if (archs.includes('forest')) parts.push(`${settings.trees} tree${settings.trees === 1 ? '' : 's'}`);
  parts.push(settings.augment ? 'augmentation on' : 'augmentation off', `seed ${settings.seed}`);
  return parts.join(' · ');
}

export const StartLabRunInput = z.object({
  catalogue: z.string().min(1).max(100),
  archs: z
    .array(z.enum(LAB_ARCHITECTURES, { error: `must be one of ${LAB_ARCHITECTURES.join(', ')}` }))
    .min(1, 'pick at least one architecture')
    .max(LAB_ARCHITECTURES.length),
  settings: LabRunSettings.default(LabRunSettings.parse({})),
});
export type StartLabRunInput = z.input<typeof StartLabRunInput>;

const Id = z.number().int().positive();
/** What a `lab` job carries: a run to train, or a lab model to put through the gate. */
export const LabJobPayload = z.discriminatedUnion('action', [
  z.object({ action: z.literal('run'), catalogueId: Id, labRunId: Id }),
  z.object({ action: z.literal('register'), catalogueId: Id, labResultId: Id, requestedBy: Id }),
]);
export type LabJobPayload = z.infer<typeof LabJobPayload>;

/** A lab run keeps a core busy for minutes: one retry after a crash. */
const LAB_MAX_ATTEMPTS = 2;

async function waitingLabJob(db: Reader, catalogueId: number): Promise<Job | undefined> {
  return await db
    .select()
    .from(jobs)
    .where(
      and(
        eq(jobs.kind, 'lab'),
        inArray(jobs.status, ['queued', 'running']),
        sql`${jsonNumber(jobs.payload, 'catalogueId')} = ${catalogueId}`,
      ),
    )
    .limit(1)
    .then(firstRow);
}

/**
 * An admin starts a run: the row and its job commit together. One lab job per catalogue at a
 * time (a second would only wait behind the first and double the CPU it asks for).
 */
export async function startLabRun(
  db: Db,
  /** `run` is checked here (StartLabRunInput): forms and tests pass what they were given. */
  input: { actor: Actor | null; run: StartLabRunInput | unknown; now?: number },
): Promise<{ run: LabRun; job: Job }> {
  const actor = requirePermission(input.actor, 'lab.run');
  const parsed = parseInput(StartLabRunInput, input.run);
  const catalogue = await requireCatalogue(db, parsed.catalogue);
  const now = new Date(input.now ?? Date.now());
  return await withTransaction(
    db,
    async (tx) => {
      const busy = await waitingLabJob(tx, catalogue.id);
      if (busy)
        throw new AppError(
          'conflict',
          `A lab job for ${catalogue.name} is already ${busy.status === 'running' ? 'running' : 'waiting'} (job ${busy.id}); start another when it ends.`,
        );
      const run = await tx
        .insert(labRuns)
        .values({
          catalogueId: catalogue.id,
          requestedBy: actor.userId,
          archs: [...new Set(parsed.archs)],
          settings: parsed.settings,
          createdAt: now,
        })
        .returning()
        .then(onlyRow);
      const job = await tx
        .insert(jobs)
        .values({
          kind: 'lab',
          payload: LabJobPayload.parse({ action: 'run', catalogueId: catalogue.id, labRunId: run.id }),
          maxAttempts: LAB_MAX_ATTEMPTS,
          createdAt: now,
          updatedAt: now,
        })
        .returning()
        .then(onlyRow);
      const linked = (await tx
        .update(labRuns)
        .set({ jobId: job.id })
        .where(eq(labRuns.id, run.id))
        .returning()
        .then(onlyRow))!;
      return { run: linked, job };
    },
    { behavior: 'immediate' },
  );
}

/** Catalogues by name with their holdout size: the lab measures on the holdout, so one without cannot run. */
export async function listLabCatalogues(
  db: Db,
  input: { actor: Actor | null },
): Promise<{ id: number; slug: string; name: string; holdout: number }[]> {
  requirePermission(input.actor, 'lab.read');
  return await db
    .select({
      id: catalogues.id,
      slug: catalogues.slug,
      name: catalogues.name,
      holdout: sql<number>`count(${items.id})`,
    })
    .from(catalogues)
    .leftJoin(items, and(eq(items.catalogueId, catalogues.id), eq(items.evalRole, 'holdout')))
    .groupBy(catalogues.id)
    .orderBy(catalogues.name);
}

export interface LabRunSummary {
  run: LabRun;
  job: Pick<Job, 'id' | 'status' | 'progress' | 'error' | 'attempts'> | null;
  results: number;
}

/** The catalogue's runs, newest first, with their job's state. */
export async function listLabRuns(
  db: Db,
  input: { actor: Actor | null; catalogue: string; limit?: number },
): Promise<LabRunSummary[]> {
  requirePermission(input.actor, 'lab.read');
  const catalogue = await requireCatalogue(db, input.catalogue);
  const rows = await db
    .select({
      run: labRuns,
      job: { id: jobs.id, status: jobs.status, progress: jobs.progress, error: jobs.error, attempts: jobs.attempts },
      results: sql<number>`(select count(*) from ${labResults} where ${labResults.runId} = ${labRuns.id})`,
    })
    .from(labRuns)
    .leftJoin(jobs, eq(jobs.id, labRuns.jobId))
    .where(eq(labRuns.catalogueId, catalogue.id))
    .orderBy(desc(labRuns.createdAt), desc(labRuns.id))
    .limit(input.limit ?? 20);
  return rows.map((row) => ({ ...row, job: row.job?.id ? row.job : null }));
}

export interface LabRunDetail extends LabRunSummary {
  catalogue: { slug: string; name: string; classNames: string[] };
  rows: (LabResultRow & { candidate: { id: number; name: string; status: string } | null })[];
  /** The newest register job of each result still waiting or running, by result id. */
  registering: Record<number, number>;
}

/** One run with every result row (the table, heatmaps, reports and prediction grids). */
export async function readLabRun(db: Db, input: { actor: Actor | null; runId: number }): Promise<LabRunDetail> {
  requirePermission(input.actor, 'lab.read');
  const runId = parseInput(Id, input.runId);
  const found = await db
    .select({
      run: labRuns,
      job: { id: jobs.id, status: jobs.status, progress: jobs.progress, error: jobs.error, attempts: jobs.attempts },
    })
    .from(labRuns)
    .leftJoin(jobs, eq(jobs.id, labRuns.jobId))
    .where(eq(labRuns.id, runId))
    .limit(1)
    .then(firstRow);
  if (!found) throw new AppError('not_found', `There is no lab run ${runId}.`);
  const catalogue = await requireCatalogueById(db, found.run.catalogueId);
  const rows = await db
    .select({
      result: labResults,
      candidate: { id: modelVersions.id, name: modelVersions.name, status: modelVersions.status },
    })
    .from(labResults)
    .leftJoin(modelVersions, eq(modelVersions.id, labResults.modelVersionId))
    .where(eq(labResults.runId, runId))
    .orderBy(labResults.id);
  const registering: Record<number, number> = {};
  const pending = await db
    .select({ id: jobs.id, payload: jobs.payload })
    .from(jobs)
    .where(
      and(
        eq(jobs.kind, 'lab'),
        inArray(jobs.status, ['queued', 'running']),
        sql`${jsonText(jobs.payload, 'action')} = 'register'`,
      ),
    );
  for (const job of pending) {
    const payload = LabJobPayload.safeParse(job.payload);
    if (payload.success && payload.data.action === 'register') registering[payload.data.labResultId] = job.id;
  }
  return {
    run: found.run,
    job: found.job?.id ? found.job : null,
    results: rows.length,
    catalogue: { slug: catalogue.slug, name: catalogue.name, classNames: catalogue.classNames },
    rows: rows.map(({ result, candidate }) => ({ ...result, candidate: candidate?.id ? candidate : null })),
    registering,
  };
}

/**
 * An admin asks for a lab model to become a candidate of its catalogue: a `lab` job in the
 * worker measures it and the active model on the holdout and the held-out human labels, and
 * the evaluation gate (lib/learning/gate.ts) promotes or rejects it, as for any candidate.
 */
export async function requestLabCandidate(
  db: Db,
  input: { actor: Actor | null; labResultId: number; now?: number },
): Promise<{ job: Job }> {
  const actor = requirePermission(input.actor, 'lab.run');
  const labResultId = parseInput(Id, input.labResultId);
  const now = new Date(input.now ?? Date.now());
  return await withTransaction(
    db,
    async (tx) => {
      const found = await tx
        .select({ result: labResults, catalogueId: labRuns.catalogueId })
        .from(labResults)
        .innerJoin(labRuns, eq(labRuns.id, labResults.runId))
        .where(eq(labResults.id, labResultId))
        .limit(1)
        .then(firstRow);
      if (!found) throw new AppError('not_found', `There is no lab result ${labResultId}.`);
      const { result, catalogueId } = found;
      if (!isRegistrableArchitecture(result.arch) || !result.modelDir)
        throw new AppError(
          'bad_input',
          `A ${result.arch} lab model cannot be served by Loupe, so it cannot become a candidate; mlp, lenet5, cnn and resnet20 can.`,
        );
      if (result.modelVersionId !== null)
        throw new AppError('conflict', `This ${result.arch} lab model is already a model version.`);
      const busy = await waitingLabJob(tx, catalogueId);
      if (busy)
        throw new AppError(
          'conflict',
          `A lab job for this catalogue is already ${busy.status === 'running' ? 'running' : 'waiting'} (job ${busy.id}); try again when it ends.`,
        );
      const job = await tx
        .insert(jobs)
        .values({
          kind: 'lab',
          payload: LabJobPayload.parse({ action: 'register', catalogueId, labResultId, requestedBy: actor.userId }),
          maxAttempts: LAB_MAX_ATTEMPTS,
          createdAt: now,
          updatedAt: now,
        })
        .returning()
        .then(onlyRow);
      return { job };
    },
    { behavior: 'immediate' },
  );
}
