import * as tf from '@tensorflow/tfjs';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { AppError } from '@/lib/errors';
import { ARCHITECTURES, createModel, type Architecture } from '@/lib/ml/model';
import { int8CalibrationOf } from '@/lib/ml/activation-ranges';
import { writeOnnxForSave } from '@/lib/ml/onnx/model-file';

/** What Loupe stores beside a model's weights (meta.json). */
export const ModelMeta = z.object({
  arch: z.enum(ARCHITECTURES),
  classNames: z.array(z.string()).min(2),
  temperature: z.number().positive(),
  /** 'hflip': logits are averaged over the image and its mirror (chosen on validation). */
  testTimeAugmentation: z.enum(['none', 'hflip']).default('none'),
  params: z.number().int(),
  seed: z.number().int(),
  /** The model folder this one was fine-tuned from; absent when trained from scratch. */
  initFrom: z.string().optional(),
  /** How the last run fitted: with augmentation, with dropout (absent: both on). */
  augment: z.boolean().optional(),
  dropout: z.boolean().optional(),
  /**
   * The augmentation this model's images take (lib/ml/model-input's AugmentOptions), for any
   * later fit of it that augments (fine-tuning): recorded even when its last run did not augment.
   * Absent on models saved before it was: lib/learning/augmentation.ts decides for those.
   */
  augmentation: z
    .object({
      maxShift: z.number().min(0),
      flipProbability: z.number().min(0).max(1),
      eraseProbability: z.number().min(0).max(1),
      maxRotationDegrees: z.number().min(0).optional(),
      maxZoom: z.number().min(0).optional(),
      elasticAlpha: z.number().min(0).optional(),
      elasticSigma: z.number().min(0).optional(),
    })
    .optional(),
  /** Threads that computed each training step together (absent: 1). */
  replicas: z.number().int().optional(),
  /** 'onnx': ONNX Runtime computed the training steps (lib/ml/train-onnx.ts); absent: TensorFlow.js. */
  engine: z.literal('onnx').optional(),
  /** The last run's learning-rate schedule and weight averaging (absent: plateau, none). */
  schedule: z.enum(['plateau', 'cosine']).optional(),
  emaDecay: z.number().optional(),
  /**
   * Calibration of the int8 ONNX export (model.int8.onnx; lib/ml/activation-ranges.ts): absent
   * on versions saved without calibration images, which are scored in float32 only.
   */
  int8: z
    .object({
      images: z.number().int().positive(),
      percentile: z.number().positive().max(100),
      ranges: z.record(z.string(), z.number().nonnegative()),
    })
    .optional(),
  backend: z.string(),
  trainedAt: z.string(),
  trainingSeconds: z.number(),
  epochs: z.number().int(),
  bestEpoch: z.number().int(),
  trainImagesPerSecond: z.number(),
  dataset: z.string(),
  trainCount: z.number().int(),
  validationCount: z.number().int(),
  validation: z.object({
    accuracy: z.number(),
    /** Accuracy without test-time augmentation, when it was considered. */
    accuracyWithoutTta: z.number().optional(),
    loss: z.number(),
    ece: z.number(),
    eceUncalibrated: z.number(),
  }),
  history: z.array(
    z.object({
      epoch: z.number(),
      loss: z.number(),
      valLoss: z.number(),
      valAccuracy: z.number(),
      learningRate: z.number(),
      seconds: z.number(),
    }),
  ),
});
export type ModelMeta = z.infer<typeof ModelMeta>;
/** What saveModel accepts: fields with defaults may be left out. */
export type ModelMetaInput = z.input<typeof ModelMeta>;

const MODEL_JSON = 'model.json';
const WEIGHTS_BIN = 'weights.bin';
const META_JSON = 'meta.json';

/**
 * Saves topology, weights and metadata into `dir`. Files are written into a fresh sibling
 * folder which then replaces `dir` by rename, so a reader never sees a half-written model.
 * With `calibrationImages` (a few hundred of the model's own training images), the int8
 * calibration is measured now and the int8 ONNX export written beside the float32 one;
 * without, `metaInput.int8` is kept as given (right only when the weights did not change).
 */
export async function saveModel(
  dir: string,
  model: tf.LayersModel,
  metaInput: ModelMetaInput,
  options: { calibrationImages?: { pixels: Uint8Array; count: number } } = {},
): Promise<void> {
  const images = options.calibrationImages;
  const int8 = images ? await int8CalibrationOf(model, images.pixels, images.count) : metaInput.int8;
  const meta = ModelMeta.parse({ ...metaInput, int8: int8 ?? undefined });
  const target = path.resolve(dir);
  const staging = `${target}.tmp-${process.pid}-${Date.now()}`;
  fs.mkdirSync(staging, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      const modelJson = {
        format: 'layers-model',
        generatedBy: `TensorFlow.js tfjs-layers v${tf.version_layers}`,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs }],
      };
      fs.writeFileSync(path.join(staging, MODEL_JSON), JSON.stringify(modelJson));
      fs.writeFileSync(path.join(staging, WEIGHTS_BIN), Buffer.from(weightData));
      writeOnnxForSave(staging, { modelJson, weightData, meta });
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
    }),
  );
  fs.writeFileSync(path.join(staging, META_JSON), JSON.stringify(meta, null, 2) + '\n');
  const old = `${target}.old-${process.pid}-${Date.now()}`;
  if (fs.existsSync(target)) fs.renameSync(target, old);
  fs.renameSync(staging, target);
  fs.rmSync(old, { recursive: true, force: true });
}

export function readModelMeta(dir: string): ModelMeta {
  const file = path.join(dir, META_JSON);
  if (!fs.existsSync(file))
    throw new AppError(
      'not_found',
      `No model at ${dir}: ${META_JSON} is missing. Train one with "npm run train" or pass --model <dir>.`,
    );
  const parsed = ModelMeta.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success)
    throw new AppError('bad_input', `${file} is not a Loupe model description: ${parsed.error.issues[0]?.message}.`);
  return parsed.data;
}

/** Loads a model saved by saveModel, with its metadata. */
export async function loadModel(dir: string): Promise<{ model: tf.LayersModel; meta: ModelMeta }> {
  const meta = readModelMeta(dir);
  const modelFile = path.join(dir, MODEL_JSON);
  const weightsFile = path.join(dir, WEIGHTS_BIN);
  for (const file of [modelFile, weightsFile]) {
    if (!fs.existsSync(file)) throw new AppError('not_found', `No model at ${dir}: ${path.basename(file)} is missing.`);
  }
  const json = JSON.parse(fs.readFileSync(modelFile, 'utf8')) as {
    modelTopology: object;
    weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[];
  };
  const weights = fs.readFileSync(weightsFile);
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
      weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
    }),
  );
  return { model, meta };
}

/**
 * Saves a freshly initialised model with placeholder metadata: for timing inference and for
 * tests that need a real model folder without training one.
 */
export async function saveUntrainedModel(
  dir: string,
  options: { arch: Architecture; classNames: string[]; temperature?: number; seed?: number; backend?: string },
): Promise<ModelMeta> {
  const seed = options.seed ?? 1;
  const model = createModel(options.arch, { numClasses: options.classNames.length, seed });
  const meta = ModelMeta.parse({
    arch: options.arch,
    classNames: options.classNames,
    temperature: options.temperature ?? 1,
    params: model.countParams(),
    seed,
    backend: options.backend ?? tf.getBackend(),
    trainedAt: new Date().toISOString(),
    trainingSeconds: 0,
    epochs: 0,
    bestEpoch: 0,
    trainImagesPerSecond: 0,
    dataset: 'none (untrained)',
    trainCount: 0,
    validationCount: 0,
    validation: { accuracy: 0, loss: 0, ece: 0, eceUncalibrated: 0 },
    history: [],
  });
  try {
    await saveModel(dir, model, meta);
  } finally {
    model.dispose();
  }
  return meta;
}
