import * as tf from '@tensorflow/tfjs';
import os from 'node:os';
import { AppError } from '@/lib/errors';
import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { parseSavedLayersModel } from '@/lib/ml/onnx/saved-layers';
import { buildTrainGraph, TRAIN_LABELS, TRAIN_LOSS, TRAIN_PIXELS, type TrainGraph } from '@/lib/ml/onnx/train-graph';
import { loadOnnxRuntime, type OnnxRuntime } from '@/lib/ml/scorer';
import type { ArrayAdam } from '@/lib/ml/train-optimizer';

type OrtSession = Awaited<ReturnType<OnnxRuntime['InferenceSession']['create']>>;

interface BatchNormLayer {
  movingMean: tf.LayerVariable;
  movingVariance: tf.LayerVariable;
  momentum: number;
}

/** `<layer>/<weight>` of every weight of the model, with the variable behind it. */
function weightsByKey(model: tf.LayersModel): Map<string, tf.LayerVariable> {
  const keyed = new Map<string, tf.LayerVariable>();
  for (const layer of model.layers)
    for (const variable of layer.weights)
      keyed.set(`${layer.name}/${variable.originalName.split('/').pop()}`, variable);
  return keyed;
}

/**
 * Training steps computed by ONNX Runtime (lib/ml/onnx/train-graph.ts): the same loss and
 * gradients as tf.variableGrads over the model in training mode, from native kernels on every
 * core instead of the wasm backend. The weights stay in the tfjs model: each step reads them,
 * runs the graph, moves each batch norm's moving statistics as the layer would, and hands the
 * gradients to the optimizer. Used by trainModel with `engine: 'onnx'`.
 */
export class OnnxTrainStep {
  private constructor(
    private readonly ort: OnnxRuntime,
    private readonly session: OrtSession,
    private readonly graph: TrainGraph,
    private readonly variables: tf.Variable[],
    private readonly model: tf.LayersModel,
    private readonly keyed: Map<string, tf.LayerVariable>,
    private readonly varKeys: string[],
  ) {}

  /** Builds the graph for `model` and opens a session; throws a sentence for a model it cannot train. */
  static async start(options: {
    model: tf.LayersModel;
    /** The variables the optimizer updates, in its order (each a weight of the model). */
    variables: tf.Variable[];
    numClasses: number;
    dropoutOff: boolean;
    /** Seeds the dropout masks. */
    seed?: number;
    threads?: number;
  }): Promise<OnnxTrainStep> {
    const { model, variables } = options;
    const keyed = weightsByKey(model);
    const keyOf = new Map<tf.Variable, string>([...keyed].map(([key, lv]) => [lv.read() as tf.Variable, key]));
    const varKeys = variables.map((v) => {
      const key = keyOf.get(v);
      if (!key) throw new AppError('internal', `Variable ${v.name} is not a weight of the model being trained.`);
      return key;
    });
    const topology = model.toJSON(null, false) as unknown as object;
    const saved = parseSavedLayersModel({ modelTopology: topology as never }, new Uint8Array(0));
    const graph = buildTrainGraph({
      model: saved,
      weightShapes: new Map([...keyed].map(([key, lv]) => [key, lv.shape as number[]])),
      trainable: new Set(varKeys),
      numClasses: options.numClasses,
      dropoutOff: options.dropoutOff,
      seed: options.seed,
    });
    const ort = await loadOnnxRuntime();
    const session = await ort.InferenceSession.create(graph.bytes, {
      intraOpNumThreads: options.threads ?? os.availableParallelism(),
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return new OnnxTrainStep(ort, session, graph, variables, model, keyed, varKeys);
  }

  /**
   * One step on `n` images (`xs` [n, 28, 28, 1] in [0,1], `ys` one-hot [n, k]): applies the
   * optimizer to the mean gradient and returns the batch's mean loss.
   */
  async step(optimizer: ArrayAdam, xs: Float32Array, ys: Float32Array, n: number, k: number): Promise<number> {
    const { ort } = this;
    const feeds: Record<string, InstanceType<OnnxRuntime['Tensor']>> = {
      [TRAIN_PIXELS]: new ort.Tensor('float32', xs.subarray(0, n * PIXELS_PER_IMAGE), [n, IMAGE_SIZE, IMAGE_SIZE, 1]),
      [TRAIN_LABELS]: new ort.Tensor('float32', ys.subarray(0, n * k), [n, k]),
    };
    for (const weight of this.graph.weights) {
      // A copy: the wasm heap's views detach when it grows, and the run is asynchronous.
      const values = new Float32Array(this.keyed.get(weight.key)!.read().dataSync() as Float32Array);
      feeds[weight.key] = new ort.Tensor('float32', values, weight.shape);
    }
    const out = await this.session.run(feeds);
    const loss = (out[TRAIN_LOSS]!.data as Float32Array)[0]!;
    if (!Number.isFinite(loss))
      throw new AppError('internal', `The training loss became ${loss}; lower the learning rate.`);
    // The batch norms' moving statistics, as tf.layers moves them: moving -= (moving - batch) * (1 - momentum).
    for (const { layer, mean, variance } of this.graph.batchNorms) {
      const bn = this.model.getLayer(layer) as unknown as BatchNormLayer;
      for (const [moving, batch] of [
        [bn.movingMean, out[mean]!.data as Float32Array],
        [bn.movingVariance, out[variance]!.data as Float32Array],
      ] as const) {
        const current = moving.read().dataSync() as Float32Array;
        const next = new Float32Array(current.length);
        for (let j = 0; j < next.length; j++) next[j] = current[j]! - (current[j]! - batch[j]!) * (1 - bn.momentum);
        moving.write(tf.tensor(next, moving.shape as number[]));
      }
    }
    optimizer.apply([
      { grads: this.varKeys.map((key) => out[this.graph.grads.get(key)!]!.data as Float32Array), weight: 1 },
    ]);
    return loss;
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}
