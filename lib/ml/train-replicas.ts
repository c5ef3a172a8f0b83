import * as tf from '@tensorflow/tfjs';
import { Worker } from 'node:worker_threads';
import { IMAGE_SIZE, PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { planShards } from '@/lib/ml/parallel-predict';
import type { ArrayAdam } from '@/lib/ml/train-optimizer';
import type { ReplicaInit, ReplicaMessage, ReplicaStep } from '@/lib/ml/train-replica-worker';

/** See predict-worker.mjs: a plain-JS bootstrap that registers tsx before the .ts entry. */
const WORKER_URL = new URL('./train-replica-worker.mjs', import.meta.url);

class Replica {
  private pending: { resolve: (m: ReplicaMessage) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;

  constructor(readonly worker: Worker) {
    worker.on('message', (message: ReplicaMessage) => {
      const pending = this.pending;
      this.pending = null;
      if (message.type === 'error') this.fail(new Error(`training replica failed: ${message.message}`), pending);
      else pending?.resolve(message);
    });
    worker.on('error', (error) => this.fail(error, this.pending));
    worker.on('exit', (code) => this.fail(new Error(`training replica exited (code ${code}).`), this.pending));
  }

  private fail(error: Error, pending: Replica['pending']): void {
    this.failure ??= error;
    this.pending = null;
    pending?.reject(error);
  }

  /** Sends one message and waits for its one answer (a replica does one thing at a time). */
  request(message: ReplicaInit | ReplicaStep, transfer: ArrayBuffer[] = []): Promise<ReplicaMessage> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.worker.postMessage(message, transfer);
    });
  }
}

/**
 * Synchronous data-parallel training over worker threads. Each step, the batch is cut into
 * one shard per replica plus one for the calling thread; every replica computes the gradients
 * of its shard's mean loss on its own backend, and the calling thread averages them (weighted
 * by shard size, so the result is the gradient of the whole batch's mean loss) and applies
 * them with its optimizer. The new weights go to the replicas with the next step.
 *
 * Layers that look at the batch see only their shard: batch norm normalises over the shard
 * ("ghost" batch norm) and only the calling thread's shards move its moving statistics.
 */
export class TrainReplicas {
  private weightsChanged = false;

  private constructor(
    private readonly replicas: Replica[],
    private readonly model: tf.LayersModel,
    private readonly variables: tf.Variable[],
    private readonly training: boolean,
  ) {}

  /** Starts `count` replicas of `model`, each a worker thread with its own copy. */
  static async start(options: {
    model: tf.LayersModel;
    variables: tf.Variable[];
    count: number;
    training: boolean;
    dropoutOff: boolean;
  }): Promise<TrainReplicas> {
    const { model } = options;
    const topology = model.toJSON(null, false) as ReplicaInit['topology'];
    const weights = model.getWeights().map((w) => (w.dataSync() as Float32Array).slice());
    const replicas = Array.from(
      { length: options.count },
      () =>
        new Replica(
          new Worker(WORKER_URL, {
            execArgv: [],
            // One wasm thread per replica: the replicas themselves are the parallelism.
            env: { ...process.env, LOUPE_WASM_THREADS: '1', LOUPE_QUIET_BACKEND: '1' },
          }),
        ),
    );
    const pool = new TrainReplicas(replicas, model, options.variables, options.training);
    try {
      await Promise.all(
        replicas.map((r) =>
          r.request({ type: 'init', topology, weights, training: options.training, dropoutOff: options.dropoutOff }),
        ),
      );
    } catch (error) {
      await pool.dispose();
      throw error;
    }
    return pool;
  }

  /**
   * One optimizer step on a batch (`n` images as floats in `xs`, one-hot labels in `ys`)
   * spread over the calling thread and the replicas. Returns the batch's mean loss.
   */
  async step(optimizer: ArrayAdam, xs: Float32Array, ys: Float32Array, n: number, k: number): Promise<number> {
    const [own, ...shards] = planShards(n, this.replicas.length + 1);
    const weights = this.weightsChanged ? this.variables.map((v) => (v.dataSync() as Float32Array).slice()) : null;
    const remote = this.replicas.map((replica, i) => {
      const { start, count } = shards[i]!;
      const message: ReplicaStep = {
        type: 'step',
        weights,
        xs: xs.slice(start * PIXELS_PER_IMAGE, (start + count) * PIXELS_PER_IMAGE),
        ys: ys.slice(start * k, (start + count) * k),
        n: count,
        k,
      };
      // The weights are shared by every replica's message, so they are cloned, not moved.
      return replica.request(message, [message.xs.buffer as ArrayBuffer, message.ys.buffer as ArrayBuffer]);
    });
    const local = tf.tidy(() => {
      const x = tf.tensor4d(xs.subarray(0, own!.count * PIXELS_PER_IMAGE), [own!.count, IMAGE_SIZE, IMAGE_SIZE, 1]);
      const y = tf.tensor2d(ys.subarray(0, own!.count * k), [own!.count, k]);
      const { value, grads } = tf.variableGrads(
        () =>
          tf.losses.softmaxCrossEntropy(y, this.model.apply(x, { training: this.training }) as tf.Tensor) as tf.Scalar,
        this.variables,
      );
      return { value, grads };
    });
    let answers: Extract<ReplicaMessage, { type: 'grads' }>[];
    try {
      answers = (await Promise.all(remote)).map((answer) => {
        if (answer.type !== 'grads') throw new Error(`training replica answered "${answer.type}" to a step.`);
        return answer;
      });
    } catch (error) {
      tf.dispose([local.value, ...Object.values(local.grads)]);
      throw error;
    }
    let loss = (await local.value.data())[0]! * own!.count;
    answers.forEach((answer, i) => (loss += answer.loss * shards[i]!.count));
    // The mean over the whole batch: each shard's mean gradient weighted by its share, averaged
    // inside the optimizer's own loop (no tensors).
    optimizer.apply([
      { grads: this.variables.map((v) => local.grads[v.name]!.dataSync() as Float32Array), weight: own!.count / n },
      ...answers.map((answer, i) => ({ grads: answer.grads, weight: shards[i]!.count / n })),
    ]);
    tf.dispose([local.value, ...Object.values(local.grads)]);
    this.weightsChanged = true;
    return loss / n;
  }

  async dispose(): Promise<void> {
    await Promise.all(this.replicas.map((r) => r.worker.terminate()));
  }
}
