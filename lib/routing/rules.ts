import { eq } from 'drizzle-orm';
import { type Reader, firstRow } from '@/db/client';
import { settings, type ItemStatus, type RoutingReason } from '@/db/schema';
import { DEFAULT_THRESHOLD, routeByConfidence } from '@/lib/routing/route-by-confidence';

export const DEFAULT_AUDIT_RATE = 0.02;
export const DEFAULT_GOLD_RATE = 0.05;

/** A catalogue's routing settings, as scoring, re-routing and re-scoring all read them. */
export interface RoutingRules {
  /** Global auto-accept threshold on calibrated confidence. */
  threshold: number;
  /** Class index (as a string key) -> threshold overriding `threshold` for that predicted class. */
  perClassThresholds: Record<string, number>;
  /** Share of would-be-auto-accepted items sent to review anyway (the audit sample). */
  auditRate: number;
  /** Salt of the audit draw. The catalogue id: draws differ between catalogues, never within one. */
  auditSeed: number;
}

export interface RouteDecision {
  status: Extract<ItemStatus, 'auto_accepted' | 'needs_review'>;
  /** Why an item went to review; null when it was auto-accepted. */
  reason: Extract<RoutingReason, 'confidence' | 'audit'> | null;
}

/** The threshold that applies to an item the model put in `predictedClass`. */
export function thresholdFor(
  predictedClass: number,
  rules: Pick<RoutingRules, 'threshold' | 'perClassThresholds'>,
): number {
  return rules.perClassThresholds[String(predictedClass)] ?? rules.threshold;
}

/**
 * A uniform draw in [0, 1) fixed by (item, seed): murmur3's 32-bit finaliser over both. The
 * audit sample is the items whose draw falls under the rate, so re-routing the same item under
 * the same settings always gives the same answer, a higher rate only adds items to the sample
 * and a lower one only removes some, and which items are audited is unrelated to anything a
 * reviewer or the model can see.
 */
export function auditDraw(itemId: number, seed: number): number {
  let h = Math.imul(itemId ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(seed + 0x632be5ab, 0xc2b2ae35);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/**
 * The one routing rule for a model-labelled item: auto-accepted when its calibrated confidence
 * reaches its class's threshold (the override, else the global one), except for the audit
 * sample, which goes to review anyway so that reviews measure what the system ships without
 * bias. Below the threshold it goes to review for its confidence; the audit draw does not matter.
 */
export function routeItem(
  item: { itemId: number; predictedClass: number; confidence: number },
  rules: RoutingRules,
): RouteDecision {
  if (routeByConfidence(item.confidence, thresholdFor(item.predictedClass, rules)) === 'needs_review')
    return { status: 'needs_review', reason: 'confidence' };
  if (rules.auditRate > 0 && auditDraw(item.itemId, rules.auditSeed) < rules.auditRate)
    return { status: 'needs_review', reason: 'audit' };
  return { status: 'auto_accepted', reason: null };
}

/**
 * An item that came with a label keeps it: accepted when the model agrees, otherwise to review
 * (a likely label error). Neither confidence nor the audit sample applies.
 */
export function routeImportLabel(
  currentLabel: number | null,
  predictedClass: number,
): { status: RouteDecision['status']; reason: 'disagreement' | null } {
  return currentLabel === predictedClass
    ? { status: 'auto_accepted', reason: null }
    : { status: 'needs_review', reason: 'disagreement' };
}

/** The catalogue's routing rules: its settings row, or the defaults when it has none. */
export async function getRoutingRules(db: Reader, catalogueId: number): Promise<RoutingRules> {
  const row = await db
    .select({
      threshold: settings.threshold,
      perClassThresholds: settings.perClassThresholds,
      auditRate: settings.auditRate,
    })
    .from(settings)
    .where(eq(settings.catalogueId, catalogueId))
    .limit(1)
    .then(firstRow);
  return {
    threshold: row?.threshold ?? DEFAULT_THRESHOLD,
    perClassThresholds: row?.perClassThresholds ?? {},
    auditRate: row?.auditRate ?? DEFAULT_AUDIT_RATE,
    auditSeed: catalogueId,
  };
}
