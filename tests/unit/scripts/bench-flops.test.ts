import { beforeAll, describe, expect, it } from 'vitest';
import { measureMatMulPeak, modelFlops } from '@/scripts/bench/flops';
import { initBackend } from '@/lib/ml/backend';
import { createModel, type Architecture } from '@/lib/ml/model';

beforeAll(async () => {
  await initBackend();
});

function flopsOf(arch: Architecture) {
  const model = createModel(arch, { numClasses: 10, seed: 1 });
  try {
    return modelFlops(model);
  } finally {
    model.dispose();
  }
}

// Multiply-adds x 2, layer by layer, by hand from lib/ml/model.ts.
describe('modelFlops', () => {
  it('mlp: three dense layers; the first needs no input gradient', () => {
    const layers = [2 * 784 * 256, 2 * 256 * 128, 2 * 128 * 10];
    const forward = layers.reduce((a, b) => a + b, 0);
    expect(flopsOf('mlp')).toEqual({ forward, training: 3 * forward - layers[0]! });
  });

  it('lenet5: a same and a valid 5x5 convolution, then three dense layers (pooling not counted)', () => {
    const layers = [2 * 28 * 28 * 6 * 25 * 1, 2 * 10 * 10 * 16 * 25 * 6, 2 * 400 * 120, 2 * 120 * 84, 2 * 84 * 10];
    const forward = layers.reduce((a, b) => a + b, 0);
    expect(flopsOf('lenet5')).toEqual({ forward, training: 3 * forward - layers[0]! });
  });

  it('cnn: four 3x3 convolutions at 28, 14, 14 and 7 pixels, then two dense layers', () => {
    const layers = [
      2 * 28 * 28 * 32 * 9 * 1,
      2 * 14 * 14 * 64 * 9 * 32,
      2 * 14 * 14 * 64 * 9 * 64,
      2 * 7 * 7 * 128 * 9 * 64,
      2 * 1152 * 256,
      2 * 256 * 10,
    ];
    const forward = layers.reduce((a, b) => a + b, 0);
    const flops = flopsOf('cnn');
    expect(flops).toEqual({ forward, training: 3 * forward - layers[0]! });
    expect(flops.training).toBe(89_392_128);
  });

  it('resnet20: a stem, 18 3x3 convolutions at 28, 14 and 7 pixels, two 1x1 shortcuts, one dense layer', () => {
    const conv = (side: number, out: number, kernel: number, inputs: number) => 2 * side * side * out * kernel * inputs;
    const layers = [
      conv(28, 16, 9, 1),
      ...Array.from({ length: 6 }, () => conv(28, 16, 9, 16)),
      conv(14, 32, 9, 16),
      ...Array.from({ length: 5 }, () => conv(14, 32, 9, 32)),
      conv(14, 32, 1, 16),
      conv(7, 64, 9, 32),
      ...Array.from({ length: 5 }, () => conv(7, 64, 9, 64)),
      conv(7, 64, 1, 32),
      2 * 64 * 10,
    ];
    const forward = layers.reduce((a, b) => a + b, 0);
    expect(flopsOf('resnet20')).toEqual({ forward, training: 3 * forward - layers[0]! });
    // About 2.1x the cnn's arithmetic per image.
    expect(forward / flopsOf('cnn').forward).toBeCloseTo(2.07, 2);
  });
});

describe('measureMatMulPeak', () => {
  it('times a square product and reports a rate for the size asked', () => {
    const peak = measureMatMulPeak({ size: 64, repeats: 2 });
    expect(peak).toMatchObject({ size: 64, repeats: 2 });
    expect(peak.gflops).toBeGreaterThan(0);
    expect(Number.isFinite(peak.gflops)).toBe(true);
  });
});
