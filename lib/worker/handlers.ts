import type { JobProgress } from '@/db/schema';
import { AppError } from '@/lib/errors';
import { getEnv } from '@/lib/env';
import { parseInput } from '@/lib/validate';
import { ScoreJobPayload, TrainJobPayload } from '@/lib/jobs/payloads';
import { evaluateActiveOnHoldout, EvaluateJobPayload } from '@/lib/learning/evaluate-active';
import { labJobHandler } from '@/lib/lab/lab-handler';
import { rescoreCatalogue } from '@/lib/learning/rescore';
import { runRetrain, type RetrainProgress } from '@/lib/learning/retrain';
import { getRetrainPolicy } from '@/lib/learning/schedule';
import { findActiveModel } from '@/lib/models/active';
import { scoreUnscoredItems } from '@/lib/routing/scoring';
import type { JobHandler, JobHandlers } from './run-job';

/**
 * What the worker does with each job kind: thin adapters from a validated payload to the
 * `lib/` function, with its progress. They load TensorFlow.js, so only the worker imports them.
 */
const score: JobHandler = async ({ db, job, report }) => {
  const payload = parseInput(ScoreJobPayload, job.payload);
  // A catalogue without a model is a normal state: nothing to score with, so done, not failed
  // (a failure would be retried, and the scheduler would queue it again after its back-off).
  if (!(await findActiveModel(db, payload.catalogueId)))
    return { phase: 'done', skipped: true, message: `Not scored: the catalogue has no active model yet.` };
  if (payload.rescore) {
    const phase = 'rescoring';
    await report({ phase, done: 0, total: null }, { force: true });
    const result = await rescoreCatalogue(db, {
      catalogueId: payload.catalogueId,
      onProgress: (done, total) => void report({ phase, done, total }),
    });
    return { phase: 'done', ...result };
  }
  const phase = 'scoring';
  await report({ phase, done: 0, total: null }, { force: true });
  const result = await scoreUnscoredItems(db, {
    catalogueId: payload.catalogueId,
    onProgress: (done, total) => void report({ phase, done, total }),
  });
  return { phase: 'done', ...result };
};

const train: JobHandler = async ({ db, job, report }) => {
  const payload = parseInput(TrainJobPayload, job.payload);
  // Fine-tuning starts from the active model: without one no retry can help, so fail at once.
  if (!(await findActiveModel(db, payload.catalogueId)))
    throw new AppError('bad_input', 'The catalogue has no active model to fine-tune; register a model first.');
  const policy = await getRetrainPolicy(db, payload.catalogueId);
  const epochs = getEnv().LOUPE_RETRAIN_EPOCHS;
  let endedEpoch: number | undefined;
  const onProgress = (progress: RetrainProgress) => {
    // An epoch's end (its validation accuracy arrives) is always written; batches are throttled.
    const epochEnded =
      progress.epoch !== undefined && progress.valAccuracy !== undefined && progress.epoch !== endedEpoch;
    if (epochEnded) endedEpoch = progress.epoch;
    void report({ ...progress } as JobProgress, { force: epochEnded });
  };
  await report({ phase: 'preparing', message: 'Starting' }, { force: true });
  const result = await runRetrain(db, {
    catalogueId: payload.catalogueId,
    options: { maxHoldoutDropPoints: policy.maxHoldoutDropPoints, ...(epochs !== undefined ? { epochs } : {}) },
    onProgress,
  });
  return {
    phase: 'done',
    message: result.decision.reason,
    candidateId: result.candidate.id,
    candidateName: result.candidate.name,
    promoted: result.promoted,
    reason: result.decision.reason,
    rescore: result.rescore,
    seconds: result.seconds,
  };
};

/** Stores the active model's predictions on the holdout, which the threshold projection reads. */
const evaluate: JobHandler = async ({ db, job, report }) => {
  const payload = parseInput(EvaluateJobPayload, job.payload);
  const phase = 'evaluating';
  await report({ phase, done: 0, total: null }, { force: true });
  const result = await evaluateActiveOnHoldout(db, {
    ...payload,
    onProgress: (done, total) => void report({ phase, done, total }),
  });
  return { phase: 'done', ...result };
};

export const WORKER_HANDLERS: JobHandlers = { score, train, evaluate, lab: labJobHandler };
