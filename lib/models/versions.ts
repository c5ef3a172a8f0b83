import fs from 'node:fs';
import path from 'node:path';
import { and, desc, eq, isNotNull, sql } from 'drizzle-orm';
import { z } from 'zod';
import { type Db, type Reader, firstRow } from '@/db/client';
import { items, modelVersions, predictions, type ModelStatus } from '@/db/schema';
import { requirePermission, type Actor } from '@/lib/auth/permissions';
import { requireCatalogue } from '@/lib/catalogues';
import { INT8_ONNX_FILE } from '@/lib/ml/onnx/precision';
import { parseInput } from '@/lib/validate';
import { readModelMetrics } from './metrics';

/**
 * A catalogue's model versions as the models page shows them (admins and ops read; only
 * admins act: their promote / roll back is promoteAndRescore in ./promotion).
 */

/** An accuracy on a labelled set: its size too, so a figure on 12 items is not mistaken for one on 2,000. */
export interface Accuracy {
  accuracy: number;
  correct: number;
  total: number;
}

export interface ModelVersionSummary {
  id: number;
  name: string;
  arch: string;
  status: ModelStatus;
  parentId: number | null;
  parentName: string | null;
  temperature: number;
  createdAt: Date;
  promotedAt: Date | null;
  /** The catalogue's holdout (trusted labels, never trained on); null when not measured. */
  holdout: Accuracy | null;
  /** Expected calibration error (0-1) after temperature scaling, on held-out data. */
  ece: number | null;
  /** Where the ECE was measured: a candidate on the holdout, the shipped model on its validation split. */
  eceOn: 'holdout' | 'validation' | null;
  /** Human labels held out from this candidate's training: its accuracy, and its parent's on the same items. */
  heldOutHuman: Accuracy | null;
  parentHeldOutHuman: Accuracy | null;
  parentHoldout: Accuracy | null;
  humanLabelsUsed: number | null;
  replayUsed: number | null;
  trainingSeconds: number | null;
  /** For the shipped model: its accuracy on the validation split it was trained beside. */
  validationAccuracy: number | null;
  /** The version has an int8 ONNX export (model.int8.onnx) to download and score with. */
  int8: boolean;
  /** The evaluation gate's sentence (why promoted or rejected); null for versions it never judged. */
  gateReason: string | null;
  /**
   * For a version with no holdout figure of its own (the shipped model): the candidate whose
   * run measured it as the parent, most recent first; `holdout` and `ece` then come from there.
   */
  measuredIn: string | null;
}

function toAccuracy(measure: { correct: number; total: number } | undefined): Accuracy | null {
  if (!measure || measure.total === 0) return null;
  return { correct: measure.correct, total: measure.total, accuracy: measure.correct / measure.total };
}

/**
 * Reads the stored metrics of any version without trusting them (readModelMetrics): a
 * fine-tuned candidate's (its own figures, and its parent's measured in the same run under
 * `active`) or the shipped model's (`validation` only).
 */
export function summarizeMetrics(metrics: unknown): Pick<
  ModelVersionSummary,
  'holdout' | 'parentHoldout' | 'ece' | 'eceOn' | 'heldOutHuman' | 'parentHeldOutHuman' | 'humanLabelsUsed' | 'replayUsed' | 'trainingSeconds' | 'validationAccuracy' | 'gateReason'
> {
  const m = readModelMetrics(metrics);
  const validationEce = m.validation?.ece;
  return {
    holdout: toAccuracy(m.holdout),
    parentHoldout: toAccuracy(m.active?.holdout),
    ece: m.ece ?? validationEce ?? null,
    eceOn: m.ece !== undefined ? 'holdout' : validationEce !== undefined ? 'validation' : null,
    heldOutHuman: toAccuracy(m.heldOutHuman),
    parentHeldOutHuman: toAccuracy(m.active?.heldOutHuman),
    humanLabelsUsed: m.humanLabelsUsed ?? null,
    replayUsed: m.replayUsed ?? null,
    trainingSeconds: m.trainingSeconds ?? null,
    validationAccuracy: m.validation?.accuracy ?? null,
    gateReason: m.decision?.reason ?? null,
  };
}

export interface ModelVersionList {
  catalogue: { id: number; slug: string; name: string };
  /** Newest first. */
  versions: ModelVersionSummary[];
}

/**
 * A version's accuracy on the catalogue's holdout from its stored predictions there (the
 * worker's evaluate job or a retrain run writes them); null when it has none, or not yet one
 * for every holdout item (the evaluate job stores them in rounds: a partial figure would be
 * the accuracy on the items with the lowest ids).
 */
export async function storedHoldoutAccuracy(db: Reader, input: { catalogueId: number; modelVersionId: number }): Promise<Accuracy | null> {
  const row = await db
    .select({
      holdout: sql<number>`count(*)`,
      total: sql<number>`count(${predictions.id})`,
      correct: sql<number>`coalesce(sum(case when ${predictions.predictedClass} = ${items.importLabel} then 1 else 0 end), 0)`,
    })
    .from(items)
    .leftJoin(predictions, and(eq(predictions.itemId, items.id), eq(predictions.modelVersionId, input.modelVersionId)))
    .where(and(eq(items.catalogueId, input.catalogueId), eq(items.evalRole, 'holdout'), isNotNull(items.importLabel))).limit(1).then(firstRow);
  return row && row.total > 0 && row.total === row.holdout ? { accuracy: row.correct / row.total, correct: row.correct, total: row.total } : null;
}

export async function listModelVersions(db: Db, input: { actor: Actor | null; catalogue: string }): Promise<ModelVersionList> {
  requirePermission(input.actor, 'dashboards.read');
  const catalogue = await requireCatalogue(db, parseInput(z.string().min(1).max(100), input.catalogue));
  // A subquery, not a drizzle alias: the PostgreSQL driver does not render a SQLite table's alias.
  const parentName = sql<string | null>`(select p.name from model_versions p where p.id = model_versions.parent_id)`;
  const rows = await db
    .select({ version: modelVersions, parentName })
    .from(modelVersions)
    .where(eq(modelVersions.catalogueId, catalogue.id))
    .orderBy(desc(modelVersions.createdAt), desc(modelVersions.id));
  // Newest first, so the first child seen for a parent is its latest measurement.
  const asParent = new Map<number, { holdout: Accuracy | null; ece: number | null; by: string }>();
  for (const { version } of rows) {
    const parent = readModelMetrics(version.metrics).active;
    if (parent?.modelVersionId !== undefined && !asParent.has(parent.modelVersionId)) {
      asParent.set(parent.modelVersionId, { holdout: toAccuracy(parent.holdout), ece: parent.ece ?? null, by: version.name });
    }
  }
  return {
    catalogue: { id: catalogue.id, slug: catalogue.slug, name: catalogue.name },
    versions: await Promise.all(rows.map(async ({ version: v, parentName }) => {
      const summary = summarizeMetrics(v.metrics);
      const measured = summary.holdout === null ? asParent.get(v.id) : undefined;
      const stored = summary.holdout === null && !measured?.holdout ? await storedHoldoutAccuracy(db, { catalogueId: catalogue.id, modelVersionId: v.id }) : null;
      return {
        id: v.id,
        name: v.name,
        arch: v.arch,
        status: v.status,
        parentId: v.parentId,
        parentName,
        temperature: v.temperature,
        createdAt: v.createdAt,
        promotedAt: v.promotedAt,
        int8: fs.existsSync(path.join(v.weightsPath, INT8_ONNX_FILE)),
        ...summary,
        ...(measured?.holdout ? { holdout: measured.holdout, ece: measured.ece ?? summary.ece, eceOn: measured.ece !== null ? ('holdout' as const) : summary.eceOn } : {}),
        ...(stored ? { holdout: stored } : {}),
        measuredIn: measured?.holdout ? measured.by : stored ? 'the evaluate job' : null,
      };
    })),
  };
}
