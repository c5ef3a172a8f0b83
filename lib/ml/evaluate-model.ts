/**
 * Evaluate a saved model on a labelled IDX split or CSV file: load both, predict, and
 * compute the metrics before and after temperature scaling. Used by `npm run evaluate`.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { parseCsv } from '@/lib/formats/csv';
import { readIdxSplit } from '@/lib/formats/idx';
import { AppError, badInput } from '@/lib/errors';
import { softmaxRows } from '@/lib/ml/calibration';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import type { ModelEvaluation } from '@/lib/ml/evaluation-report';
import { computeEvaluation, expectedCalibrationError } from '@/lib/ml/metrics';
import { ROBUSTNESS_MAX_SHIFT, ROBUSTNESS_SEED, shiftImagesAtRandom } from '@/lib/ml/shifted-images';

export type EvaluationSource = { kind: 'idx'; dir: string; split: 'train' | 't10k' } | { kind: 'csv'; file: string };

export type LabelledSet = { count: number; pixels: Uint8Array; labels: Uint8Array; source: string };

function statOrNull(target: string): Stats | null {
  try {
    return statSync(target);
  } catch {
    return null;
  }
}

function requireDirectory(dir: string, what: string): void {
  const stats = statOrNull(dir);
  if (!stats) throw new AppError('not_found', `${what} not found: ${dir}`);
  if (!stats.isDirectory()) throw badInput(`${what} is not a directory: ${dir}`);
}

/** Images and labels from an IDX split or a labelled CSV, checked for consistent counts. */
export function loadLabelledSet(source: EvaluationSource): LabelledSet {
  if (source.kind === 'idx') {
    requireDirectory(source.dir, 'IDX directory');
    const { images, labels } = readIdxSplit(source.dir, source.split);
    if (images.rows * images.cols !== PIXELS_PER_IMAGE) {
      throw badInput(`IDX images are ${images.rows}x${images.cols}; the model takes 28x28.`);
    }
    if (labels.length !== images.count) {
      throw badInput(`IDX split '${source.split}' has ${images.count} images but ${labels.length} labels.`);
    }
    const where = `idx:${source.dir} (${source.split})`;
    return { count: images.count, pixels: images.pixels, labels, source: where };
  }
  const stats = statOrNull(source.file);
  if (!stats) throw new AppError('not_found', `CSV file not found: ${source.file}`);
  if (!stats.isFile()) throw badInput(`CSV path is not a file: ${source.file}`);
  const parsed = parseCsv(readFileSync(source.file, 'utf8'), path.basename(source.file));
  if (!parsed.labels) {
    throw badInput(`${source.file} has no label column; evaluation needs labels.`);
  }
  if (parsed.labels.length !== parsed.count) {
    throw badInput(`${source.file} has ${parsed.count} images but ${parsed.labels.length} labels.`);
  }
  return { count: parsed.count, pixels: parsed.pixels, labels: parsed.labels, source: `csv:${source.file}` };
}

function assertLabelsInClasses(labels: Uint8Array, classNames: readonly string[]): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= classNames.length) {
      throw badInput(
        `Label ${labels[i]} of item ${i} is outside the model's ${classNames.length} classes (0-${classNames.length - 1}).`,
      );
    }
  }
}

export type EvaluateModelOptions = {
  modelDir: string;
  source: EvaluationSource;
  onProgress?: (done: number, total: number) => void;
  /** Progress lines for a person (the CLI sends them to stderr). */
  log?: (line: string) => void;
};

/** Load the model and the labelled set, predict every item, and compute every metric. */
export async function evaluateModel({
  modelDir,
  source,
  onProgress,
  log,
}: EvaluateModelOptions): Promise<ModelEvaluation> {
  // Check the model dir before reading a possibly large data set, so a typo fails fast.
  requireDirectory(modelDir, 'Model directory');
  const set = loadLabelledSet(source);
  log?.(`loaded ${set.count} labelled items from ${set.source}`);

  // Imported here, not at the top: loading tfjs and picking a backend takes seconds, and
  // bad arguments or data should fail before paying for it.
  const { loadClassifier } = await import('@/lib/ml/classifier');
  const classifier = await loadClassifier(modelDir);
  try {
    const { meta } = classifier;
    const k = meta.classNames.length;
    assertLabelsInClasses(set.labels, meta.classNames);
    log?.(`model ${meta.arch} (${meta.params} params) scored by ${classifier.scorer} (${classifier.backend})`);

    // The same items, each moved by up to 2 px (issue 18's robustness figure), for one more
    // pass. Made first: the ONNX scorer may hand the pixels' buffer to its worker thread.
    const shifted = shiftImagesAtRandom({ pixels: set.pixels, count: set.count });
    const started = performance.now();
    const logits = await classifier.predictLogits(set.pixels, set.count, { onProgress });
    const seconds = (performance.now() - started) / 1000;
    if (logits.length !== set.count * k) {
      throw new AppError('internal', `Model returned ${logits.length} logits for ${set.count} items x ${k} classes.`);
    }

    const calibrated = computeEvaluation({
      probs: softmaxRows(logits, k, meta.temperature),
      labels: set.labels,
      classNames: meta.classNames,
    });
    const uncalibrated = expectedCalibrationError({ probs: softmaxRows(logits, k, 1), labels: set.labels, k });
    const shiftedLogits = await classifier.predictLogits(shifted, set.count);
    const shiftedAccuracy = computeEvaluation({
      probs: softmaxRows(shiftedLogits, k, meta.temperature),
      labels: set.labels,
      classNames: meta.classNames,
    }).accuracy;
    return {
      ...calibrated,
      model: {
        dir: modelDir,
        arch: meta.arch,
        params: meta.params,
        temperature: meta.temperature,
        classNames: [...meta.classNames],
      },
      source: set.source,
      backend: classifier.backend,
      scorer: classifier.scorer,
      precision: classifier.precision,
      imagesPerSecond: seconds > 0 ? set.count / seconds : 0,
      temperature: meta.temperature,
      eceUncalibrated: uncalibrated.ece,
      robustness: {
        maxShift: ROBUSTNESS_MAX_SHIFT,
        seed: ROBUSTNESS_SEED,
        shiftedAccuracy,
        drop: calibrated.accuracy - shiftedAccuracy,
      },
    };
  } finally {
    classifier.dispose();
  }
}
