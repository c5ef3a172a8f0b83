'use server';

import { revalidatePath } from 'next/cache';
import { getDb } from '@/db/client';
import { runAction, type ActionResult } from '@/lib/http/server-action';
import { setRetrainPolicy, type RetrainPolicyInput, type SetRetrainPolicyResult } from '@/lib/learning/schedule';
import {
  setRoutingRules,
  setThreshold,
  type RoutingRulesPatch,
  type SetRoutingRulesResult,
  type SetThresholdResult,
} from '@/lib/routing/settings';

function numberField(form: FormData, key: string): number {
  const value = form.get(key);
  // An empty or non-numeric field becomes NaN, which lib/settings refuses with its sentence.
  return typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
}

/** A hidden field's value as sent; absent (an older page) means "no check". */
function optionalNumberField(form: FormData, key: string): number | undefined {
  return form.get(key) === null ? undefined : numberField(form, key);
}

/** A hidden JSON field (the values a form started from); lib validates its shape. */
function optionalJsonField(form: FormData, key: string): unknown {
  const value = form.get(key);
  if (typeof value !== 'string') return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return Number.NaN;
  }
}

export async function setThresholdAction(
  _previous: ActionResult<SetThresholdResult> | null,
  form: FormData,
): Promise<ActionResult<SetThresholdResult>> {
  return runAction('settings.write', (actor) => {
    const result = setThreshold(getDb(), {
      actor,
      catalogueId: numberField(form, 'catalogueId'),
      threshold: numberField(form, 'threshold'),
      expectedThreshold: optionalNumberField(form, 'expectedThreshold'),
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
      catalogueId: numberField(form, 'catalogueId'),
      policy: {
        enabled: form.get('enabled') === 'on',
        minNewLabels: numberField(form, 'minNewLabels'),
        // An empty timer field means "no timer".
        intervalMinutes:
          typeof interval === 'string' && interval.trim() === '' ? null : numberField(form, 'intervalMinutes'),
        maxHoldoutDropPoints: numberField(form, 'maxHoldoutDropPoints'),
      },
      expected: optionalJsonField(form, 'expected') as Partial<RetrainPolicyInput> | undefined,
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
      catalogueId: numberField(form, 'catalogueId'),
      perClassThresholds,
      auditRate: numberField(form, 'auditRate'),
      goldRate: numberField(form, 'goldRate'),
      expected: optionalJsonField(form, 'expected') as RoutingRulesPatch | undefined,
    });
    revalidatePath('/settings');
    return result;
  });
}
