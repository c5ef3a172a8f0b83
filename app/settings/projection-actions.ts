'use server';

import { revalidatePath } from 'next/cache';
import { getDb } from '@/db/client';
import { formNumber, formOptionalNumber } from '@/lib/http/form-fields';
import { runAction, type ActionResult } from '@/lib/http/server-action';
import { applyTargetThreshold, type ApplyTargetResult } from '@/lib/routing/target-threshold';

/** Target mode: the form sends a percentage (99 for 99%). */
export async function applyTargetThresholdAction(
  _previous: ActionResult<ApplyTargetResult> | null,
  form: FormData,
): Promise<ActionResult<ApplyTargetResult>> {
  return runAction('settings.write', async (actor) => {
    const result = await applyTargetThreshold(getDb(), {
      actor,
      catalogueId: formNumber(form, 'catalogueId'),
      targetAccuracy: formNumber(form, 'targetPercent') / 100,
      // The threshold the page showed; absent (an older page) means no check.
      expectedThreshold: formOptionalNumber(form, 'expectedThreshold'),
    });
    revalidatePath('/settings');
    return result;
  });
}
