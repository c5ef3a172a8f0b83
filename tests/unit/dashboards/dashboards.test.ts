import { eq, inArray } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { items, modelVersions, predictions, reviews } from '@/db/schema';
import { figureCsv, readDashboard, readFigure } from '@/lib/dashboards';
import { NO_AUDIT_MARKER } from '@/lib/dashboards/common';
import { expectAppError, makeFixture, tempDir, type Fixture } from '../review/fixtures';
import { onlyRow } from '@/db/client';

const tmp = tempDir('loupe-dashboards-');
afterAll(tmp.cleanup);

const H = 3_600_000;
/** 12:30 UTC: the current hour bucket starts at 12:00. */
const NOW = Date.UTC(2026, 0, 15, 12, 30);

let clientSeq = 0;
async function addReview(
  f: Fixture,
  spec: {
    item: number;
    by: 'reviewer' | 'reviewer2';
    model: number | null;
    chosen: number | null;
    action: 'confirm' | 'correct' | 'skip' | 'undo';
    at: number;
    ms: number;
    reverts?: number;
  },
): Promise<number> {
  return (
    await f.db
      .insert(reviews)
      .values({
        itemId: f.itemIds[spec.item]!,
        reviewerId: f[spec.by].userId,
        modelVersionId: f.modelVersionId,
        modelLabel: spec.model,
        chosenLabel: spec.chosen,
        action: spec.action,
        durationMs: spec.ms,
        clientId: `dash-${++clientSeq}`,
        revertsReviewId: spec.reverts ?? null,
        createdAt: new Date(spec.at),
      })
      .returning()
      .then(onlyRow)
  ).id;
}

/**
 * 0: predicted 0, confirmed (human); 1: predicted 1, corrected to 2 (human); 2: predicted 1,
 * corrected to 3 then undone; 3: waiting (skipped 30 h ago); 4: auto-accepted;
 * 5, 6: holdout (label 0 and 1, both predicted 0, stored reviewed as the seed does); 7: gold (label 4), confirmed by one reviewer,
 * corrected to 3 by the other.
 */
async function buildFixture(): Promise<Fixture> {
  const f = await makeFixture(tmp.dir, [
    { predictedClass: 0, status: 'reviewed' },
    { predictedClass: 1, status: 'reviewed' },
    { predictedClass: 1, status: 'reviewed' },
    { predictedClass: 2, status: 'needs_review' },
    { predictedClass: 3, status: 'auto_accepted' },
    { predictedClass: 0, confidence: 0.9, status: 'reviewed', importLabel: 0 },
    { predictedClass: 0, confidence: 0.7, status: 'reviewed', importLabel: 1 },
    { predictedClass: 4, status: 'reviewed', importLabel: 4 },
  ]);
  const id = (i: number) => f.itemIds[i]!;
  const setItem = async (i: number, values: Partial<typeof items.$inferInsert>) =>
    await f.db
      .update(items)
      .set(values)
      .where(eq(items.id, id(i)));
  await setItem(0, { labelSource: 'human', currentLabel: 0 });
  await setItem(1, { labelSource: 'human', currentLabel: 2 });
  await setItem(5, { evalRole: 'holdout' });
  await setItem(6, { evalRole: 'holdout' });
  await setItem(7, { evalRole: 'gold' });
  // The holdout items were predicted in the window too (the worker's evaluate job): they never
  // entered the queue, so the queue flow must not count them.
  const predictedAt = [
    NOW - 5 * H,
    NOW - 5 * H,
    NOW - 5 * H,
    NOW - 3 * H,
    NOW - 30 * H,
    NOW - 5 * H,
    NOW - 5 * H,
    NOW - 30 * H,
  ];
  for (const [i, at] of predictedAt.entries()) {
    await f.db
      .update(predictions)
      .set({ createdAt: new Date(at) })
      .where(eq(predictions.itemId, id(i)));
  }

  await addReview(f, { item: 0, by: 'reviewer', model: 0, chosen: 0, action: 'confirm', at: NOW - H, ms: 2000 });
  await addReview(f, { item: 1, by: 'reviewer', model: 1, chosen: 2, action: 'correct', at: NOW - H, ms: 4000 });
  const undone = await addReview(f, {
    item: 2,
    by: 'reviewer2',
    model: 1,
    chosen: 3,
    action: 'correct',
    at: NOW - 2 * H,
    ms: 6000,
  });
  await addReview(f, {
    item: 2,
    by: 'reviewer2',
    model: null,
    chosen: null,
    action: 'undo',
    at: NOW - 2 * H + 1000,
    ms: 0,
    reverts: undone,
  });
  await addReview(f, { item: 7, by: 'reviewer', model: 4, chosen: 4, action: 'confirm', at: NOW - 2 * H, ms: 1000 });
  await addReview(f, { item: 7, by: 'reviewer2', model: 4, chosen: 3, action: 'correct', at: NOW - 2 * H, ms: 3000 });
  await addReview(f, {
    item: 3,
    by: 'reviewer2',
    model: null,
    chosen: null,
    action: 'skip',
    at: NOW - 30 * H,
    ms: 9000,
  });

  // Version history: m0 shipped with a validation figure, m2 fine-tuned with a holdout one, then m1 (the fixture's active model).
  await f.db
    .update(modelVersions)
    .set({ promotedAt: new Date(NOW - 24 * H) })
    .where(eq(modelVersions.id, f.modelVersionId));
  await f.db.insert(modelVersions).values({
    catalogueId: f.catalogueId,
    name: 'm0',
    arch: 'test',
    weightsPath: '/x',
    status: 'retired',
    promotedAt: new Date(NOW - 72 * H),
    metrics: { validation: { accuracy: 0.8 } },
  });
  await f.db.insert(modelVersions).values({
    catalogueId: f.catalogueId,
    name: 'm2',
    arch: 'test',
    weightsPath: '/x',
    status: 'retired',
    promotedAt: new Date(NOW - 48 * H),
    metrics: { holdout: { correct: 90, total: 100 } },
  });
  // mA has no figure of its own; a rejected candidate measured it as its parent.
  const mA = await f.db
    .insert(modelVersions)
    .values({
      catalogueId: f.catalogueId,
      name: 'mA',
      arch: 'test',
      weightsPath: '/x',
      status: 'retired',
      promotedAt: new Date(NOW - 60 * H),
    })
    .returning()
    .then(onlyRow);
  await f.db.insert(modelVersions).values({
    catalogueId: f.catalogueId,
    name: 'c1',
    arch: 'test',
    weightsPath: '/x',
    status: 'rejected',
    parentId: mA.id,
    metrics: {
      holdout: { correct: 1, total: 2 },
      active: { modelVersionId: mA.id, name: 'mA', holdout: { correct: 85, total: 100 } },
    },
  });
  return f;
}

const figure = async (f: Fixture, name: string) =>
  await readFigure(f.db, { actor: f.ops, catalogue: 'demo', figure: name, now: NOW });

describe('dashboards', () => {
  it('computes every figure exactly on a hand-made database (no audit marker yet)', async () => {
    const f = await buildFixture();
    const emails = { r: f.reviewer.email, r2: f.reviewer2.email };

    expect(await figure(f, 'holdout-accuracy')).toMatchObject({
      source: 'holdout',
      rows: [
        {
          version: 'm0',
          promotedAt: new Date(NOW - 72 * H).toISOString(),
          accuracy: 0.8,
          measuredOn: 'validation',
          items: null,
        },
        { version: 'mA', accuracy: 0.85, measuredOn: 'holdout', items: 100 },
        { version: 'm2', accuracy: 0.9, measuredOn: 'holdout', items: 100 },
        { version: 'm1', accuracy: 0.5, measuredOn: 'holdout', items: 2 },
      ],
    });

    // Before the routing migration there is no marker at all; after it, no audit item is reviewed here.
    const noAudits = expect.stringMatching(
      new RegExp(`^(${NO_AUDIT_MARKER.replace(/[.()]/g, '\\$&')}|No audit item has been reviewed yet\\.)$`),
    );
    expect(await figure(f, 'audit-accuracy')).toMatchObject({ source: 'audit sample', rows: [], note: noAudits });
    expect((await figure(f, 'catalogue-accuracy')).rows).toEqual([
      { humanLabelled: 2, autoAccepted: 1, auditAccuracy: null, audited: 0, estimate: null },
    ]);

    expect((await figure(f, 'queue-now')).rows).toEqual([
      { waiting: 1, oldestWaitingSince: new Date(NOW - 3 * H).toISOString(), oldestAgeHours: 3 },
    ]);
    const flow = (await figure(f, 'queue-flow')).rows;
    expect(flow).toHaveLength(24);
    expect(flow[23]!.hour).toBe(new Date(Date.UTC(2026, 0, 15, 12)).toISOString());
    expect(flow.map((r) => r.in)).toEqual([...Array(18).fill(0), 3, 0, 1, 0, 0, 0]);
    expect(flow.map((r) => r.out)).toEqual([...Array(21).fill(0), 2, 2, 0]);

    const throughput = await figure(f, 'reviewer-throughput');
    expect(throughput.source).toBe('reviewed');
    expect(throughput.rows).toEqual([
      { reviewer: emails.r, decisions: 3, decisionsPerHour: 1542.9, medianSeconds: 2 },
      { reviewer: emails.r2, decisions: 1, decisionsPerHour: 1200, medianSeconds: 3 },
    ]);
    expect(await figure(f, 'gold-agreement')).toMatchObject({
      source: 'gold',
      rows: [
        { reviewer: emails.r, goldDecisions: 1, agreed: 1, agreement: 1 },
        { reviewer: emails.r2, goldDecisions: 1, agreed: 0, agreement: 0 },
      ],
    });

    const confusion = await figure(f, 'confusion-reviewed');
    expect(confusion.source).toBe('reviewed');
    expect(confusion.rows).toHaveLength(25);
    expect(confusion.rows.filter((r) => r.count !== 0)).toEqual([
      { reviewerClass: 'zero', modelClass: 'zero', count: 1 },
      { reviewerClass: 'two', modelClass: 'one', count: 1 },
    ]);
    expect((await figure(f, 'class-metrics-reviewed')).rows).toEqual([
      { class: 'zero', precision: 1, recall: 1, support: 1 },
      { class: 'one', precision: 0, recall: null, support: 0 },
      { class: 'two', precision: null, recall: 0, support: 1 },
      { class: 'three', precision: null, recall: null, support: 0 },
      { class: 'four', precision: null, recall: null, support: 0 },
    ]);
    expect(await figure(f, 'confusion-audit')).toMatchObject({ source: 'audit sample', rows: [], note: noAudits });
    expect(await figure(f, 'class-metrics-audit')).toMatchObject({ source: 'audit sample', rows: [], note: noAudits });

    const reliability = await figure(f, 'reliability');
    expect(reliability.source).toBe('holdout');
    expect(reliability.rows.filter((r) => r.count !== 0)).toEqual([
      { binLower: 0.6, binUpper: 0.7, count: 1, confidence: 0.7, accuracy: 0 },
      { binLower: 0.8, binUpper: 0.9, count: 1, confidence: 0.9, accuracy: 1 },
    ]);
    expect(reliability.note).toMatch(/40\.00% over 2 holdout items/);
    const rc = (await figure(f, 'risk-coverage')).rows;
    expect(rc.find((r) => r.threshold === 0.7)).toEqual({ threshold: 0.7, coverage: 1, accuracy: 0.5 });
    expect(rc.find((r) => r.threshold === 0.75)).toEqual({ threshold: 0.75, coverage: 0.5, accuracy: 1 });
    expect(rc.find((r) => r.threshold === 0.95)).toEqual({ threshold: 0.95, coverage: 0, accuracy: null });

    expect(await figure(f, 'overrides')).toMatchObject({
      source: 'reviewed',
      rows: [
        { class: 'zero', decisions: 1, overridden: 0, overrideRate: 0 },
        { class: 'one', decisions: 1, overridden: 1, overrideRate: 1 },
        { class: 'two', decisions: 0, overridden: 0, overrideRate: null },
        { class: 'three', decisions: 0, overridden: 0, overrideRate: null },
        { class: 'four', decisions: 2, overridden: 1, overrideRate: 0.5 },
      ],
    });

    // The page reads the same numbers in one go.
    const dashboard = await readDashboard(f.db, { actor: f.admin, catalogue: 'demo', now: NOW });
    expect(dashboard.figures.overrides.rows).toEqual((await figure(f, 'overrides')).rows);
  });

  it('uses the audit sample once items carry the marker', async () => {
    const f = await buildFixture();
    await f.db
      .update(items)
      .set({ routingReason: 'audit' })
      .where(inArray(items.id, [f.itemIds[0]!, f.itemIds[1]!]));
    expect((await figure(f, 'audit-accuracy')).rows).toEqual([
      { day: '2026-01-15', audited: 2, correct: 1, accuracy: 0.5 },
    ]);
    expect((await figure(f, 'catalogue-accuracy')).rows).toEqual([
      { humanLabelled: 2, autoAccepted: 1, auditAccuracy: 0.5, audited: 2, estimate: 0.8333 },
    ]);
    expect((await figure(f, 'confusion-audit')).rows.filter((r) => r.count !== 0)).toHaveLength(2);
    // Audited items leave the 'reviewed' set.
    expect((await figure(f, 'confusion-reviewed')).rows).toEqual([]);
  });

  it('writes the CSV from the same rows, formula-escaped', async () => {
    const f = await buildFixture();
    const overrides = await figure(f, 'overrides');
    const lines = figureCsv(overrides).trimEnd().split('\r\n');
    expect(lines[0]).toBe('class,decisions,overridden,overrideRate');
    expect(lines.slice(1)).toEqual(
      overrides.rows.map((r) => [r.class, r.decisions, r.overridden, r.overrideRate ?? ''].join(',')),
    );
    const csv = figureCsv({
      ...overrides,
      rows: [{ class: '=HYPERLINK("x")', decisions: 1, overridden: 0, overrideRate: null }],
    });
    expect(csv.split('\r\n')[1]).toBe(`"'=HYPERLINK(""x"")",1,0,`);
  });

  it('refuses reviewers, unknown figures and unknown catalogues', async () => {
    const f = await buildFixture();
    await expectAppError(async () => await readDashboard(f.db, { actor: f.reviewer, catalogue: 'demo' }), 'forbidden');
    await expectAppError(
      async () => await readFigure(f.db, { actor: f.reviewer, catalogue: 'demo', figure: 'overrides' }),
      'forbidden',
    );
    await expectAppError(
      async () => await readFigure(f.db, { actor: null, catalogue: 'demo', figure: 'overrides' }),
      'unauthorized',
    );
    await expectAppError(
      async () => await readFigure(f.db, { actor: f.ops, catalogue: 'demo', figure: 'nope' }),
      'bad_input',
    );
    await expectAppError(
      async () => await readFigure(f.db, { actor: f.ops, catalogue: 'hats', figure: 'overrides' }),
      'not_found',
    );
  });
});
