/**
 * Worker-thread entry for data-parallel training (lib/ml/train-replicas.ts): holds a copy of
 * the model on its own single-threaded backend and, for every step, takes the weights the
 * main thread last applied and its share of the batch, and sends back the gradients of the
 * mean loss over that share. It never updates weights itself: the optimizer lives in the main
 * thread. Not a process entry point.
 */
import * as tf from '@tensorflow/tfjs';
import { parentPort } from 'node:worker_threads';
import { initBackend } from '@/lib/ml/backend';
import { IMAGE_SIZE } from '@/lib/ml/classes';
import { dropoutLayers } from '@/lib/ml/model';

type Topology = Extract<Parameters<typeof tf.models.modelFromJSON>[0], { modelTopology: unknown }>['modelTopology'];

export interface ReplicaInit {
  type: 'init';
  /** model.toJSON(null, false) of the main thread's model. */
  topology: Topology;
  /** Every weight of the model (trainable or not), in model.getWeights() order. */
  weights: Float32Array[];
  /** Run the layers in training mode (batch statistics, dropout). */
  training: boolean;
  /** Skip dropout layers (trainModel's `dropout: false`). */
  dropoutOff: boolean;
}

export interface ReplicaStep {
  type: 'step';
  /** The trainable weights after the main thread's last update; null when unchanged. */
  weights: Float32Array[] | null;
  /** This replica's images (n x 784 floats in [0,1]) and one-hot labels (n x k). */
  xs: Float32Array;
  ys: Float32Array;
  n: number;
  k: number;
}

export type ReplicaMessage =
  { type: 'ready' } | { type: 'grads'; grads: Float32Array[]; loss: number } | { type: 'error'; message: string };

const port = parentPort;
if (!port) throw new Error('lib/ml/train-replica-worker.ts must be started as a worker thread.');

function send(message: ReplicaMessage, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

let model: tf.LayersModel | null = null;
let variables: tf.Variable[] = [];
let training = true;

async function init(message: ReplicaInit): Promise<void> {
  await initBackend();
  model = await tf.models.modelFromJSON({ modelTopology: message.topology });
  const net = model;
  tf.tidy(() => net.setWeights(net.getWeights().map((w, i) => tf.tensor(message.weights[i]!, w.shape))));
  variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  training = message.training;
  if (message.dropoutOff) for (const layer of dropoutLayers(model)) layer.rate = 0;
}

function step(message: ReplicaStep): { grads: Float32Array[]; loss: number } {
  const net = model!;
  if (message.weights) variables.forEach((v, i) => tf.tidy(() => v.assign(tf.tensor(message.weights![i]!, v.shape))));
  // Tensors out of the tidy, arrays after it: tidy searches what it returns for tensors to
  // keep, element by element, which costs ~0.3 s a step on half a million floats.
  const { value, grads } = tf.tidy(() => {
    const xs = tf.tensor4d(message.xs, [message.n, IMAGE_SIZE, IMAGE_SIZE, 1]);
    const ys = tf.tensor2d(message.ys, [message.n, message.k]);
    const result = tf.variableGrads(
      () => tf.losses.softmaxCrossEntropy(ys, net.apply(xs, { training }) as tf.Tensor) as tf.Scalar,
      variables,
    );
    return { value: result.value, grads: variables.map((v) => result.grads[v.name]!) };
  });
  try {
    // Copies: a backend may hand out its own storage, which must not be transferred away.
    return { grads: grads.map((g) => (g.dataSync() as Float32Array).slice()), loss: value.dataSync()[0]! };
  } finally {
    tf.dispose([value, ...grads]);
  }
}

port.on('message', (message: ReplicaInit | ReplicaStep) => {
  void (async () => {
    try {
      if (message.type === 'init') {
        await init(message);
        send({ type: 'ready' });
      } else {
        const result = step(message);
        send(
          { type: 'grads', ...result },
          result.grads.map((g) => g.buffer as ArrayBuffer),
        );
      }
    } catch (error) {
      send({ type: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  })();
});
