import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '@/lib/ml/backend';
import { crossValidate, poolFolds, stratifiedFolds, trainFolds, type TrainingRecipe } from '@/lib/ml/cross-validate';
import { openFoldStore, runIdentity } from '@/lib/ml/fold-store';
import { createModel } from '@/lib/ml/model';
import { AUGMENT_PRESETS } from '@/lib/ml/model-input';
import { readModelMeta } from '@/lib/ml/model-store';
import { accuracyOfLogits } from '@/lib/ml/predict';
import { evaluateLoss, trainModel } from '@/lib/ml/train';
import { tempDir } from '../review/fixtures';
import { syntheticSet } from './fixtures';

const K = 10;
const root = path.resolve(import.meta.dirname, '../../..');
const { dir, cleanup } = tempDir('loupe-cv-');
afterAll(cleanup);

describe('stratifiedFolds', () => {
  // Uneven classes: 37 of class 0, 12 of class 1, 5 of class 2, in no order.
  const labels = Uint8Array.from({ length: 54 }, (_, i) => (i % 9 < 6 ? 0 : i % 9 < 8 ? 1 : 2));

  it('cuts every image into exactly one fold, folds within one image of each other', () => {
    const folds = stratifiedFolds(labels, 4, 1);
    const seen = new Uint8Array(labels.length);
    for (const fold of folds) for (const i of fold) seen[i]!++;
    expect([...seen].every((n) => n === 1)).toBe(true);
    const sizes = folds.map((f) => f.length);
    expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    for (const fold of folds) expect([...fold]).toEqual([...fold].sort((a, b) => a - b));
  });

  it('deals each class in proportion to every fold', () => {
    const folds = stratifiedFolds(labels, 4, 1);
    for (const c of [0, 1, 2]) {
      const total = labels.filter((l) => l === c).length;
      for (const fold of folds) {
        const inFold = [...fold].filter((i) => labels[i] === c).length;
        expect(Math.abs(inFold - total / 4)).toBeLessThan(1);
      }
    }
  });

  it('repeats with its seed and differs with another', () => {
    expect(stratifiedFolds(labels, 3, 5)).toEqual(stratifiedFolds(labels, 3, 5));
    expect(stratifiedFolds(labels, 3, 5)).not.toEqual(stratifiedFolds(labels, 3, 6));
  });

  it('refuses fewer than two folds, or more folds than images', () => {
    expect(() => stratifiedFolds(labels, 1)).toThrow(/at least 2 folds/);
    expect(() => stratifiedFolds(labels.subarray(0, 3), 4)).toThrow(/3 images cannot be cut into 4 folds/);
  });
});

describe('training for fixed epochs', () => {
  beforeAll(async () => {
    process.env.LOUPE_TF_BACKEND = 'wasm';
    await initBackend();
  });

  it('keepLastEpoch: runs every epoch and ends with the last one, not the best one', async () => {
    // Validation labels that contradict training's (each image labelled as the next class):
    // the better the model learns, the worse validation gets, so the usual rule would stop after
    // epoch 2 and go back to epoch 1.
    const train = syntheticSet(160, 11, { noise: 60 });
    const validation = syntheticSet(100, 12, { noise: 60 });
    validation.labels.forEach((c, i) => (validation.labels[i] = (c + 1) % K));
    const model = createModel('mlp', { numClasses: K, seed: 4 });
    const result = await trainModel({
      model,
      train,
      validation,
      numClasses: K,
      batchSize: 32,
      augment: null,
      seed: 3,
      epochs: 6,
      learningRate: 3e-3,
      stopPatience: 1,
      keepLastEpoch: true,
    });
    expect(result.history).toHaveLength(6);
    expect(result.bestEpoch).toBe(6);
    const lowest = result.history.reduce((a, b) => (b.valLoss < a.valLoss ? b : a));
    expect(lowest.epoch).toBeLessThan(6);
    const now = await evaluateLoss(model, validation, K);
    expect(now.loss).toBeCloseTo(result.history[5]!.valLoss, 5);
    model.dispose();
  });

  it('crossValidate scores every image once, by the fold model that did not train on it', async () => {
    const data = syntheticSet(160, 21, { noise: 120 });
    const folds: number[] = [];
    const result = await crossValidate({
      data,
      numClasses: K,
      folds: 2,
      foldSeed: 9,
      recipe: {
        arch: 'mlp',
        epochs: 3,
        seed: 5,
        batchSize: 16,
        learningRate: 2e-3,
        augment: null,
        dropout: true,
        replicas: 1,
      },
      onEpoch: (fold) => folds.push(fold),
    });
    expect(folds).toEqual([1, 1, 1, 2, 2, 2]);
    expect(result.folds.map((f) => [f.trainCount, f.heldOutCount])).toEqual([
      [80, 80],
      [80, 80],
    ]);
    // Every image has logits (no row left at zero), and the pooled accuracy is theirs.
    for (let i = 0; i < data.count; i++)
      expect(result.logits.subarray(i * K, (i + 1) * K).some((v) => v !== 0)).toBe(true);
    expect(result.accuracy).toBeCloseTo(accuracyOfLogits(result.logits, data.labels, K), 12);
    expect(result.accuracy).toBeCloseTo((result.folds[0]!.accuracy + result.folds[1]!.accuracy) / 2, 12);
    // The last epoch's figure is the model that scored the fold.
    expect(result.accuracyByEpoch).toHaveLength(3);
    expect(result.accuracyByEpoch[2]).toBeCloseTo(result.accuracy, 12);
    expect(result.accuracy).toBeGreaterThan(0.5);
    expect(result.standardError).toBeCloseTo(Math.sqrt((result.accuracy * (1 - result.accuracy)) / 160), 12);
    // Two folds of 80: the pooled loss is the mean of their last epochs' held-out losses.
    expect(result.loss).toBeCloseTo(
      (result.folds[0]!.history[2]!.valLoss + result.folds[1]!.history[2]!.valLoss) / 2,
      12,
    );
    expect(result.temperature).toBeGreaterThan(0.05);
    expect(result.temperature).toBeLessThan(20);
  });

  it('a run in stages, its finished folds kept on disk, pools to what one run gives', async () => {
    const data = syntheticSet(150, 31, { noise: 120 });
    const recipe: TrainingRecipe = {
      arch: 'mlp',
      epochs: 2,
      seed: 6,
      batchSize: 16,
      learningRate: 2e-3,
      augment: null,
      dropout: false,
      replicas: 1,
    };
    const settings = { data, numClasses: K, folds: 3, foldSeed: 4, recipe };
    const whole = await crossValidate(settings);

    const stateDir = path.join(dir, 'staged');
    const identity = runIdentity({ folds: 3, foldSeed: 4, recipe }, data);
    const first = openFoldStore(stateDir, identity);
    expect(first.finished).toEqual([]);
    const partial = await trainFolds({ ...settings, maxNewFolds: 2, onFold: first.save });
    expect(partial.outcomes.map((o) => o.fold)).toEqual([1, 2]);
    expect(() => poolFolds(data, K, partial.folds, partial.outcomes)).toThrow(/Folds 3 of 3 are not finished/);

    // A later run (another process, another session): the store gives back folds 1 and 2 exactly.
    const second = openFoldStore(stateDir, identity);
    expect(second.finished.map((o) => o.fold)).toEqual([1, 2]);
    expect([...second.finished[1]!.logits]).toEqual([...partial.outcomes[1]!.logits]);
    const trained: number[] = [];
    const rest = await trainFolds({ ...settings, finished: second.finished, onEpoch: (fold) => trained.push(fold) });
    expect(trained).toEqual([3, 3]);
    const staged = poolFolds(data, K, rest.folds, rest.outcomes);
    expect(staged.accuracy).toBeCloseTo(whole.accuracy, 12);
    expect(staged.folds.map((f) => f.accuracy)).toEqual(whole.folds.map((f) => f.accuracy));
    expect(staged.temperature).toBeCloseTo(whole.temperature, 6);
  });

  it("a fold store refuses another run's folds and a damaged fold, with what to do", async () => {
    const data = syntheticSet(40, 41, { noise: 120 });
    const stateDir = path.join(dir, 'refusals');
    // A run stopped before any fold finished kept nothing: another recipe may take its folder.
    openFoldStore(stateDir, runIdentity({ folds: 2, recipe: { seed: 9 } }, data));
    const store = openFoldStore(stateDir, runIdentity({ folds: 2, recipe: { seed: 1 } }, data));
    const epoch = { epoch: 1, loss: 1, valLoss: 1, valAccuracy: 0.5, learningRate: 1e-3, seconds: 1 };
    store.save({
      fold: 2,
      trainCount: 20,
      heldOutCount: 20,
      accuracy: 0.5,
      history: [epoch],
      logits: new Float32Array(200),
    });
    expect(() => openFoldStore(stateDir, runIdentity({ folds: 2, recipe: { seed: 2 } }, data))).toThrow(
      /holds the folds of another run \(it differs in recipe\): run the command that made it, or name a new --state-dir/,
    );
    const otherImages = syntheticSet(40, 42, { noise: 120 });
    expect(() => openFoldStore(stateDir, runIdentity({ folds: 2, recipe: { seed: 1 } }, otherImages))).toThrow(
      /differs in imagesSha256/,
    );
    fs.writeFileSync(path.join(stateDir, 'fold-1.json'), '{"fold": 1, "logits": ');
    expect(() => openFoldStore(stateDir, runIdentity({ folds: 2, recipe: { seed: 1 } }, data))).toThrow(
      /fold-1.json is not a finished fold this command wrote: delete it/,
    );
    // A fold from other folds (its size does not match) is refused before anything trains.
    const wrongSize = {
      fold: 1,
      trainCount: 20,
      heldOutCount: 7,
      accuracy: 0.5,
      history: [],
      logits: new Float32Array(70),
    };
    await expect(
      trainFolds({
        data,
        numClasses: K,
        folds: 2,
        recipe: {
          arch: 'mlp',
          epochs: 1,
          seed: 1,
          batchSize: 8,
          learningRate: 1e-3,
          augment: null,
          dropout: false,
          replicas: 1,
        },
        finished: [wrongSize],
      }),
    ).rejects.toThrow(/finished fold 1 does not match these 2 folds of 40 images: delete its file \(fold-1.json/);
  });
});

/** A quick recipe for the command-line tests: an mlp on one thread, a cosine schedule. */
const SMALL_DIGITS_MLP = ['--data', 'mnist-digits', '--arch', 'mlp', '--replicas', '1', '--schedule', 'cosine'];

function crossValidateCli(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/cross-validate.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
  });
}

describe('npm run cross-validate', () => {
  it('refuses one fold with a sentence, not a stack trace', () => {
    const result = crossValidateCli(['--data', 'mnist-digits', '--arch', 'mlp', '--folds', '1']);
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n').at(-1)).toMatch(/^error: --folds: .*2/);
  });

  it('refuses the plateau schedule, which a fold of fixed epochs would never apply', () => {
    const result = crossValidateCli(['--data', 'mnist-digits', '--arch', 'mlp', '--schedule', 'plateau']);
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n').at(-1)).toMatch(/^error: --schedule: .*name --schedule cosine/);
  });

  it('refuses --max-folds without a --state-dir to keep the folds in', () => {
    const result = crossValidateCli([
      '--data',
      'mnist-digits',
      '--arch',
      'mlp',
      '--schedule',
      'cosine',
      '--max-folds',
      '1',
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr.trim().split('\n').at(-1)).toMatch(/^error: --max-folds: .*name --state-dir DIR/);
  });

  it("goes on from the folds a stopped run kept, and refuses to mix in another recipe's", () => {
    const stateDir = path.join(dir, 'cli-state');
    const final = path.join(dir, 'cli-final');
    const args = (seed: string) => [
      ...SMALL_DIGITS_MLP,
      '--epochs',
      '1',
      '--no-augment',
      '--folds',
      '2',
      '--limit',
      '200',
      '--seed',
      seed,
      '--state-dir',
      stateDir,
    ];
    const first = crossValidateCli([...args('3'), '--max-folds', '1']);
    expect(first.status, first.stderr).toBe(0);
    const partial = JSON.parse(first.stdout.trim().split('\n').at(-1)!);
    expect(partial).toMatchObject({ complete: false, folds: 2, foldsFinished: [1], countSoFar: 100 });
    expect(first.stderr).toMatch(/1 of 2 folds finished, kept in .*cli-state: run the same command again/);
    expect(fs.existsSync(path.join(stateDir, 'fold-1.json'))).toBe(true);

    const other = crossValidateCli([...args('4'), '--max-folds', '1']);
    expect(other.status).toBe(1);
    expect(other.stderr.trim().split('\n').at(-1)).toMatch(
      /^error: .*cli-state holds the folds of another run \(it differs in recipe\)/,
    );

    // The rest, with a final model that the rule does not let through (no recipe reaches 100%).
    const rest = crossValidateCli([...args('3'), '--final-out', final, '--final-min-accuracy', '1']);
    expect(rest.status, rest.stderr).toBe(0);
    expect(rest.stderr).toMatch(/folds 1 finished before, not trained again/);
    expect(rest.stderr).not.toMatch(/fold 1\/2 epoch/);
    const done = JSON.parse(rest.stdout.trim().split('\n').at(-1)!);
    expect(done.complete).toBe(true);
    expect(done.perFold.map((f: { fold: number }) => f.fold)).toEqual([1, 2]);
    expect(done.perFold[0].accuracy).toBe(partial.perFold[0].accuracy);
    expect(rest.stderr).toMatch(/is below --final-min-accuracy 100.00%: the final model is not trained/);
    expect(fs.existsSync(final)).toBe(false);
  });

  it('reports the folds and trains the final model on every digit with their temperature and figures', () => {
    const out = path.join(dir, 'final');
    const report = path.join(dir, 'report.json');
    const common = [...SMALL_DIGITS_MLP, '--epochs', '2'];
    const result = crossValidateCli([
      ...common,
      '--folds',
      '2',
      '--limit',
      '300',
      '--report',
      report,
      '--final-out',
      out,
      '--no-augment',
    ]);
    expect(result.status, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout.trim().split('\n').at(-1)!);
    expect(printed.count).toBe(300);
    expect(printed.perFold.map((f: { heldOutCount: number }) => f.heldOutCount)).toEqual([150, 150]);
    const written = JSON.parse(fs.readFileSync(report, 'utf8'));
    expect(written.accuracy).toBe(printed.accuracy);
    expect(written.perFold[0].history).toHaveLength(2);
    const meta = readModelMeta(out);
    expect(meta.temperature).toBe(printed.temperature);
    expect(meta.trainCount).toBe(300);
    expect([meta.epochs, meta.bestEpoch]).toEqual([2, 2]);
    expect(meta.testTimeAugmentation).toBe('none');
    expect(meta.classNames).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    // Its validation figures are the out-of-fold ones, not a fit on the digits it trained on.
    expect(meta.validationCount).toBe(300);
    expect(meta.validation.accuracy).toBe(printed.accuracy);
    expect(meta.validation.loss).toBe(printed.loss);
    expect(meta.validation.ece).toBe(printed.ece);
    // Trained without augmentation, it still records the digits preset for fine-tuning later:
    // never the clothing preset's flips and erasing.
    expect(meta.augment).toBe(false);
    expect(meta.augmentation).toEqual(AUGMENT_PRESETS.digits);
  });
});
