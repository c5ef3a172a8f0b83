/**
 * Child process of onnx-one-thread.test.ts: chooses the scorer and scores as the worker does,
 * recording every native addon the main thread loads, then prints one JSON line.
 */
import path from 'node:path';
import { readIdxSplit } from '@/lib/formats/idx';
import { loadClassifier } from '@/lib/ml/classifier';
import { getScorer, loadOnnxRuntime } from '@/lib/ml/scorer';
import { stopOnnxWorker } from '@/lib/ml/onnx/worker-client';

const addons: string[] = [];
const dlopen = process.dlopen.bind(process);
process.dlopen = ((module: { exports: unknown }, filename: string, flags?: number) => {
  addons.push(path.basename(filename));
  return flags === undefined ? dlopen(module, filename) : dlopen(module, filename, flags);
}) as typeof process.dlopen;

const scorer = await getScorer();
const classifier = await loadClassifier(path.resolve('models/production'));
const { images } = readIdxSplit(path.resolve('datasets/fashion-mnist'), 't10k');
const predictions = await classifier.predict(images.pixels, 200);
let secondLoad = 'allowed';
try {
  await loadOnnxRuntime();
} catch (error) {
  secondLoad = error instanceof Error ? error.message : String(error);
}
await stopOnnxWorker();
console.log(
  JSON.stringify({
    scorer: scorer.name,
    backend: classifier.backend,
    predicted: predictions.length,
    mainThreadAddons: addons,
    secondLoad,
  }),
);
