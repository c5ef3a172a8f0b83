import { describe, expect, it } from 'vitest';
import { createRng } from '@/lib/ml/random';
import { renderSimulationHtml } from '@/scripts/sim/chart';
import { SimulateArgs } from '@/scripts/sim/command';
import { measureCatalogue, percentile, simulatedAnswer, type SimItemRow } from '@/scripts/sim/metrics';
import type { SimulationResult, TimelinePoint } from '@/scripts/sim/simulate';

const row = (itemId: number, fields: Partial<SimItemRow>): SimItemRow => ({
  itemId,
  currentLabel: null,
  status: 'unscored',
  evalRole: null,
  predictedClass: null,
  labelSource: null,
  ...fields,
});

describe('measureCatalogue', () => {
  it('measures labels, auto-accepted items and the model against the truth, by hand', () => {
    const truth = new Map([
      [1, 0],
      [2, 1],
      [3, 2],
      [4, 3],
      [5, 4],
      [6, 5],
    ]);
    const rows = [
      row(1, { currentLabel: 0, status: 'auto_accepted', predictedClass: 0, labelSource: 'model' }), // right
      row(2, { currentLabel: 7, status: 'auto_accepted', predictedClass: 7, labelSource: 'model' }), // model wrong
      row(3, { currentLabel: 2, status: 'reviewed', predictedClass: 9, labelSource: 'human' }), // corrected
      row(4, { currentLabel: 8, status: 'reviewed', predictedClass: 3, labelSource: 'human' }), // reviewer slip
      row(5, { currentLabel: 4, status: 'needs_review', predictedClass: 4, labelSource: 'model' }), // waiting, right
      row(6, {}), // unscored: no label, counts as wrong
      row(7, { currentLabel: 1, status: 'reviewed', evalRole: 'holdout', predictedClass: 1 }), // evaluation item: left out
      row(8, { currentLabel: 1, status: 'auto_accepted', predictedClass: 1 }), // truth unknown: left out
    ];
    expect(measureCatalogue(rows, (id) => truth.get(id))).toEqual({
      items: 6,
      catalogueAccuracy: 3 / 6,
      labelled: 5,
      reviewed: 2,
      reviewedShare: 2 / 6,
      autoAccepted: 2,
      autoAcceptedAccuracy: 1 / 2,
      queueDepth: 1,
      unscored: 1,
      modelAccuracy: 3 / 5,
      wrongHumanLabels: 1,
    });
  });

  it('reports null shares on an empty catalogue instead of dividing by zero', () => {
    expect(measureCatalogue([], () => undefined)).toMatchObject({
      items: 0,
      catalogueAccuracy: null,
      reviewedShare: null,
      autoAcceptedAccuracy: null,
      modelAccuracy: null,
    });
  });
});

describe('simulatedAnswer', () => {
  it('answers the truth at error rate 0, never at 1, and slips at about the rate asked for', () => {
    const random = createRng(7);
    for (let i = 0; i < 1000; i++) expect(simulatedAnswer(i % 10, 10, 0, random)).toBe(i % 10);
    for (let i = 0; i < 1000; i++) {
      const answer = simulatedAnswer(i % 10, 10, 1, random);
      expect(answer).not.toBe(i % 10);
      expect(answer).toBeGreaterThanOrEqual(0);
      expect(answer).toBeLessThan(10);
    }
    let slips = 0;
    const wrongClasses = new Set<number>();
    for (let i = 0; i < 20_000; i++) {
      const answer = simulatedAnswer(3, 10, 0.165, random);
      if (answer !== 3) {
        slips++;
        wrongClasses.add(answer);
      }
    }
    expect(slips / 20_000).toBeGreaterThan(0.155);
    expect(slips / 20_000).toBeLessThan(0.175);
    expect([...wrongClasses].sort()).toEqual([0, 1, 2, 4, 5, 6, 7, 8, 9]);
  });
});

describe('percentile', () => {
  it('uses the nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([5], 99)).toBe(5);
    expect(percentile([], 50)).toBeNull();
  });
});

function point(t: number, fields: Partial<TimelinePoint> = {}): TimelinePoint {
  return {
    t,
    imported: 100,
    humanDecisions: t,
    items: 100,
    catalogueAccuracy: 0.9 + t / 1000,
    labelled: 100,
    reviewed: t,
    reviewedShare: t / 100,
    autoAccepted: 80,
    autoAcceptedAccuracy: 0.97,
    queueDepth: 20 - t / 5,
    unscored: 0,
    modelAccuracy: 0.9,
    wrongHumanLabels: 0,
    activeModel: 'base-cnn',
    activeModelHoldoutAccuracy: 0.93,
    threshold: 0.9,
    ...fields,
  };
}

describe('renderSimulationHtml', () => {
  it('draws one SVG panel per figure, marks promotions and escapes names', () => {
    const result = {
      scenario: {
        baseUrl: 'http://x',
        catalogue: 'sim',
        stream: 'fashion-mnist t10k',
        streamItems: 100,
        batches: 2,
        reviewers: 3,
        errorRate: 0.02,
        thinkMs: 10,
        threshold: { mode: 'target', targetAccuracy: 0.98 },
        maxDecisions: null,
        seed: 1,
      },
      timeline: [
        point(0, { catalogueAccuracy: null, autoAcceptedAccuracy: null }),
        point(10),
        point(20, { activeModel: '<v2>' }),
      ],
      models: [
        { name: 'base-cnn', seenAt: 0, activeAt: 0, status: 'retired', holdoutAccuracy: 0.93, gateReason: null },
        { name: '<v2>', seenAt: 12, activeAt: 15, status: 'active', holdoutAccuracy: 0.935, gateReason: 'better' },
      ],
      thresholdChanges: [],
      queueApi: {
        claims: 1,
        emptyClaims: 0,
        submits: 1,
        claimMsP50: 1,
        claimMsP99: 1,
        submitMsP50: 1,
        submitMsP99: 1,
        lostHolds: 0,
        errors: 0,
        errorSamples: [],
      },
      summary: {
        stoppedBecause: 'done',
        seconds: 20,
        items: 100,
        catalogueAccuracy: 0.92,
        humanDecisions: 20,
        corrections: 5,
        reviewerSlips: 0,
        reviewedShare: 0.2,
        autoAcceptedAccuracy: 0.97,
        modelAloneAccuracy: 0.9,
        modelAloneSource: 'base model on every stream image',
        finalModelAccuracy: 0.91,
        modelVersionsPromoted: 1,
        finalModel: '<v2>',
        finalModelHoldoutAccuracy: 0.935,
      },
    } satisfies SimulationResult;
    const html = renderSimulationHtml(result);
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html.match(/<svg /g)).toHaveLength(4);
    expect(html).toContain('&lt;v2&gt;');
    expect(html).not.toContain('<v2>');
    expect(html).toContain('target 98.00%');
    // The promotion's dashed line sits at t = 15 of 20 in every panel.
    expect(html.match(/stroke-dasharray/g)).toHaveLength(4);
    // Nothing fetched: no script and no external reference.
    expect(html).not.toMatch(/<script|src=|href=/);
  });
});

describe('SimulateArgs', () => {
  it('refuses contradictory or incomplete flags with a sentence', () => {
    const message = (values: Record<string, unknown>) => {
      const parsed = SimulateArgs.safeParse(values);
      return parsed.success ? null : parsed.error.issues[0]!.message;
    };
    expect(message({ threshold: '0.9', target: '0.98' })).toMatch(/--threshold or --target, not both/);
    expect(message({ url: 'http://localhost:3000', admin: 'a@b.c:pw' })).toMatch(
      /one --reviewer email:password per simulated reviewer/,
    );
    expect(message({ url: 'not a url' })).toMatch(/address of a running Loupe/);
    expect(message({ 'error-rate': '1.5' })).toMatch(/between 0 and 1/);
    expect(message({ base: 'huge' })).toMatch(/--base is shipped or small/);
    expect(message({ reviewer: ['nobody'] })).toMatch(/email:password/);
    expect(
      SimulateArgs.parse({ url: 'http://h:1', catalogue: 'c', admin: 'a@b.c:p:w', reviewer: ['r@b.c:x'] }),
    ).toMatchObject({ admin: { email: 'a@b.c', password: 'p:w' }, reviewer: [{ email: 'r@b.c', password: 'x' }] });
  });
});
