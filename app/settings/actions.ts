'use server';

import { revalidatePath } from 'next/cache';
import { getDb } from '@/db/client';
import { formJson, formNumber, formOptionalNumber } from '@/lib/http/form-fields';
import { runAction, type ActionResult } from '@/lib/http/server-action';
import { setRetrainPolicy, type RetrainPolicyInput, type SetRetrainPolicyResult } from '@/lib/learning/schedule';
import {
  setRoutingRules,
  setThreshold,
  type RoutingRulesPatch,
  type SetRoutingRulesResult,
  type SetThresholdResult,
} from '@/lib/routing/settings';

export async function setThresholdAction(
  _previous: ActionResult<SetThresholdResult> | null,
  form: FormData,
): Promise<ActionResult<SetThresholdResult>> {
  return runAction('settings.write', (actor) => {
    const result = setThreshold(getDb(), {
      actor,
      catalogueId: formNumber(form, 'catalogueId'),
      threshold: formNumber(form, 'threshold'),
      expectedThreshold: formOptionalNumber(form, 'expectedThreshold'),
    });
    revalidatePath('/settings');
    return result;
  });
}

export async function setRetrainPolicyAction(
  _previous: ActionResult<SetRetrainPolicyResult> | null,
  form: FormData,
): Promise<ActionResult<SetRetrainPolicyResult>> {
  return runAction('settings.write', (actor) => {
    const interval = form.get('intervalMinutes');
    const result = setRetrainPolicy(getDb(), {
      actor,
      catalogueId: formNumber(form, 'catalogueId'),
      policy: {
        enabled: form.get('enabled') === 'on',
        minNewLabels: formNumber(form, 'minNewLabels'),
        // An empty timer field means "no timer".
        intervalMinutes:
          typeof interval === 'string' && interval.trim() === '' ? null : formNumber(form, 'intervalMinutes'),
        maxHoldoutDropPoints: formNumber(form, 'maxHoldoutDropPoints'),
      },
      expected: formJson(form, 'expected') as Partial<RetrainPolicyInput> | undefined,
    });
    revalidatePath('/settings');
    revalidatePath('/models');
    return result;
  });
}

/**
 * The routing-rules form: one optional override per class (`class-<index>`; empty means none),
 * the audit rate and the gold rate, all saved and re-routed together.
 */
export async function setRoutingRulesAction(
  _previous: ActionResult<SetRoutingRulesResult> | null,
  form: FormData,
): Promise<ActionResult<SetRoutingRulesResult>> {
  return runAction('settings.write', (actor) => {
    const perClassThresholds: Record<string, number> = {};
    for (const [key, value] of form.entries()) {
      const match = /^class-(\d+)$/.exec(key);
      if (match && typeof value === 'string' && value.trim() !== '') perClassThresholds[match[1]!] = Number(value);
    }
    const result = setRoutingRules(getDb(), {
      actor,
      catalogueId: formNumber(form, 'catalogueId'),
      perClassThresholds,
      auditRate: formNumber(form, 'auditRate'),
      goldRate: formNumber(form, 'goldRate'),
      expected: formJson(form, 'expected') as RoutingRulesPatch | undefined,
    });
    revalidatePath('/settings');
    return result;
  });
}
