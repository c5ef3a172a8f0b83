'use server';

import { revalidatePath } from 'next/cache';
import { getDb } from '@/db/client';
import { formNumber, formString } from '@/lib/http/form-fields';
import { runAction, type ActionResult } from '@/lib/http/server-action';
import { requestLabCandidate, startLabRun } from '@/lib/lab/lab-runs';

export interface StartLabRunResult {
  runId: number;
  jobId: number;
  catalogue: string;
}

/** Numbers left empty take lib/'s defaults; anything else is passed on for lib/ to check. */
function optionalNumber(form: FormData, key: string): number | undefined {
  return formString(form, key).trim() === '' ? undefined : formNumber(form, key);
}

export async function startLabRunAction(
  _previous: ActionResult<StartLabRunResult> | null,
  form: FormData,
): Promise<ActionResult<StartLabRunResult>> {
  return runAction('lab.run', async (actor) => {
    const catalogue = formString(form, 'catalogue');
    const { run, job } = await startLabRun(getDb(), {
      actor,
      run: {
        catalogue,
        archs: form.getAll('archs').filter((value) => typeof value === 'string'),
        settings: {
          epochs: optionalNumber(form, 'epochs'),
          trainSize: optionalNumber(form, 'trainSize'),
          testSize: optionalNumber(form, 'testSize'),
          trees: optionalNumber(form, 'trees'),
          augment: form.get('augment') === 'on',
          schedule: formString(form, 'schedule') || undefined,
        },
      },
    });
    revalidatePath('/lab');
    return { runId: run.id, jobId: job.id, catalogue };
  });
}

export async function registerLabModelAction(
  _previous: ActionResult<{ jobId: number }> | null,
  form: FormData,
): Promise<ActionResult<{ jobId: number }>> {
  return runAction('lab.run', async (actor) => {
    const { job } = await requestLabCandidate(getDb(), { actor, labResultId: formNumber(form, 'labResultId') });
    revalidatePath('/lab');
    return { jobId: job.id };
  });
}
