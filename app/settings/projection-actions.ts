'use server';

import { revalidatePath } from 'next/cache';
import { getDb } from '@/db/client';
import { runAction, type ActionResult } from '@/lib/http/server-action';
import { applyTargetThreshold, type ApplyTargetResult } from '@/lib/routing/target-threshold';

function numberField(form: FormData, key: string): number {
  const value = form.get(key);
  // An empty or non-numeric field becomes NaN, which lib/target-threshold refuses with its sentence.
  return typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
}

/** Target mode: the form sends a percentage (99 for 99%). */
export async function applyTargetThresholdAction(
  _previous: ActionResult<ApplyTargetResult> | null,
  form: FormData,
): Promise<ActionResult<ApplyTargetResult>> {
  return runAction('settings.write', (actor) => {
    const result = applyTargetThreshold(getDb(), {
      actor,
      catalogueId: numberField(form, 'catalogueId'),
      targetAccuracy: numberField(form, 'targetPercent') / 100,
      // The threshold the page showed; absent (an older page) means no check.
      expectedThreshold: form.get('expectedThreshold') === null ? undefined : numberField(form, 'expectedThreshold'),
    });
    revalidatePath('/settings');
    return result;
  });
}
