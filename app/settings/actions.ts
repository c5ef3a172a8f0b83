'use server';

import { revalidatePath } from 'next/cache';
import { getDb } from '@/db/client';
import { formJson, formNumber, formOptionalNumber } from '@/lib/http/form-fields';
import { runAction, type ActionResult } from '@/lib/http/server-action';
import { setRetrainPolicy, type RetrainPolicyInput, type SetRetrainPolicyResult } from '@/lib/learning/schedule';
import {
  previewRoutingRules,
  previewTargetThreshold,
  type RoutingPreview,
  type TargetPreview,
} from '@/lib/routing/preview';
import {
  setRoutingRules,
  setThreshold,
  type RoutingRulesPatch,
  type SetRoutingRulesResult,
  type SetThresholdResult,
} from '@/lib/routing/settings';

/** The threshold form's fields (also the projection's "save this threshold"). */
function thresholdFromForm(form: FormData) {
  return {
    catalogueId: formNumber(form, 'catalogueId'),
    threshold: formNumber(form, 'threshold'),
    expectedThreshold: formOptionalNumber(form, 'expectedThreshold'),
  };
}

export async function setThresholdAction(
  _previous: ActionResult<SetThresholdResult> | null,
  form: FormData,
): Promise<ActionResult<SetThresholdResult>> {
  return runAction('settings.write', async (actor) => {
    const result = await setThreshold(getDb(), { actor, ...thresholdFromForm(form) });
    revalidatePath('/settings');
    return result;
  });
}

/** What the threshold form's save would move, before it saves (lib/routing/preview.ts). */
export async function previewThresholdAction(
  _previous: ActionResult<RoutingPreview> | null,
  form: FormData,
): Promise<ActionResult<RoutingPreview>> {
  return runAction('settings.write', async (actor) => {
    const { catalogueId, threshold, expectedThreshold } = thresholdFromForm(form);
    const expected = expectedThreshold === undefined ? undefined : { threshold: expectedThreshold };
    return await previewRoutingRules(getDb(), { actor, catalogueId, threshold, expected });
  });
}

/** What target mode's save would pick and move, before it saves. */
export async function previewTargetAction(
  _previous: ActionResult<TargetPreview> | null,
  form: FormData,
): Promise<ActionResult<TargetPreview>> {
  return runAction(
    'settings.write',
    async (actor) =>
      await previewTargetThreshold(getDb(), {
        actor,
        catalogueId: formNumber(form, 'catalogueId'),
        targetAccuracy: formNumber(form, 'targetPercent') / 100,
        expectedThreshold: formOptionalNumber(form, 'expectedThreshold'),
      }),
  );
}

export async function setRetrainPolicyAction(
  _previous: ActionResult<SetRetrainPolicyResult> | null,
  form: FormData,
): Promise<ActionResult<SetRetrainPolicyResult>> {
  return runAction('settings.write', async (actor) => {
    const interval = form.get('intervalMinutes');
    const result = await setRetrainPolicy(getDb(), {
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
  return runAction('settings.write', async (actor) => {
    const result = await setRoutingRules(getDb(), { actor, ...routingRulesFromForm(form) });
    revalidatePath('/settings');
    return result;
  });
}

/** What the routing-rules form's save would move, before it saves. */
export async function previewRoutingRulesAction(
  _previous: ActionResult<RoutingPreview> | null,
  form: FormData,
): Promise<ActionResult<RoutingPreview>> {
  return runAction(
    'settings.write',
    async (actor) => await previewRoutingRules(getDb(), { actor, ...routingRulesFromForm(form) }),
  );
}

function routingRulesFromForm(form: FormData) {
  const perClassThresholds: Record<string, number> = {};
  for (const [key, value] of form.entries()) {
    const match = /^class-(\d+)$/.exec(key);
    if (match && typeof value === 'string' && value.trim() !== '') perClassThresholds[match[1]!] = Number(value);
  }
  return {
    catalogueId: formNumber(form, 'catalogueId'),
    perClassThresholds,
    auditRate: formNumber(form, 'auditRate'),
    goldRate: formNumber(form, 'goldRate'),
    expected: formJson(form, 'expected') as RoutingRulesPatch | undefined,
  };
}
