import type { JobProgress } from '@/db/schema';
import { parseInput } from '@/lib/validate';
import type { JobHandler } from '@/lib/worker/run-job';
import { executeLabRun } from './lab-jobs';
import { LabJobPayload } from './lab-runs';
import { registerLabCandidate } from './register-candidate';

/**
 * The worker's `lab` jobs: a run (its progress names the architecture, its place in the run,
 * and the epoch or tree) or a lab model's registration through the evaluation gate.
 */
export const labJobHandler: JobHandler = async ({ db, job, report }) => {
  const payload = parseInput(LabJobPayload, job.payload);
  if (payload.action === 'register') {
    await report({ phase: 'evaluating', message: 'Measuring the lab model and the active model' }, { force: true });
    const result = await registerLabCandidate(db, {
      labResultId: payload.labResultId,
      onProgress: (message) => void report({ phase: 'evaluating', message }, { force: true }),
    });
    return {
      phase: 'done',
      message: result.decision.reason,
      candidateId: result.version.id,
      candidateName: result.version.name,
      promoted: result.promoted,
    };
  }
  await report({ phase: 'preparing', message: 'Reading the training pool and the holdout' }, { force: true });
  let lastArch = '';
  let lastStep = -1;
  const result = await executeLabRun(db, {
    labRunId: payload.labRunId,
    onProgress: (p) => {
      // An architecture's start and end and each epoch or tree are always written; batches are throttled.
      const force = p.arch !== lastArch || p.step !== lastStep || p.phase === 'evaluating';
      lastArch = p.arch;
      lastStep = p.step;
      void report({ ...p } as JobProgress, { force });
    },
  });
  return { phase: 'done', message: `${result.results} architectures measured on ${result.source}` };
};
