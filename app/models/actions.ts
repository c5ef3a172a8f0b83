'use server';

import { revalidatePath } from 'next/cache';
import { getDb } from '@/db/client';
import { formNumber } from '@/lib/http/form-fields';
import { runAction, type ActionResult } from '@/lib/http/server-action';
import { requestRetrainNow } from '@/lib/learning/schedule';
import { promoteAndRescore } from '@/lib/models/promotion';

export interface PromoteActionResult {
  promoted: string;
  retired: string | null;
  rescoreJobId: number;
}

export async function promoteAction(_previous: ActionResult<PromoteActionResult> | null, form: FormData): Promise<ActionResult<PromoteActionResult>> {
  return runAction('models.manage', async (actor) => {
    const result = await promoteAndRescore(getDb(), { actor, modelVersionId: formNumber(form, 'modelVersionId') });
    revalidatePath('/models');
    return { promoted: result.promoted.name, retired: result.retired?.name ?? null, rescoreJobId: result.rescoreJob.id };
  });
}

export interface TrainNowResult {
  jobId: number;
  created: boolean;
}

export async function trainNowAction(_previous: ActionResult<TrainNowResult> | null, form: FormData): Promise<ActionResult<TrainNowResult>> {
  return runAction('models.manage', async (actor) => {
    const { job, created } = await requestRetrainNow(getDb(), { actor, catalogueId: formNumber(form, 'catalogueId') });
    return { jobId: job.id, created };
  });
}
