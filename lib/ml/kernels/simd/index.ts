import type * as tf from '@tensorflow/tfjs';
import { KERNELS_WASM_BASE64 } from './kernels-wasm';

/**
 * The SIMD kernels of kernels.wat, instantiated on the wasm backend's own memory, so that they
 * read and write its tensors in place. `null` where they cannot run: a backend that is not
 * wasm, or the threaded build, whose heap is shared memory (the module imports plain memory);
 * the callers then take their JavaScript loops. `simdKernels.enabled = false` forces those too
 * (tests compare the two).
 */
export interface SimdKernels {
  /** out[j] = sum a[., j], out[c + j] = sum a[., j] * b[., j], as 2c float64 at `out`. */
  chanSums(a: number, b: number, rows: number, c: number, out: number): void;
  /** out = A[j] * a + B[j] * b + C[j], with A, B, C as 3c float32 at `coef`. */
  chanAffine(a: number, b: number, rows: number, c: number, coef: number, out: number): void;
  maxPoolGrad2x2(
    x: number,
    dy: number,
    dx: number,
    n: number,
    h: number,
    w: number,
    c: number,
    oh: number,
    ow: number,
  ): void;
  /** Adds dy's rows rowStart..rowEnd to a 3x3 stride-1 filter gradient; see kernels.wat. */
  convFilterGrad3x3(
    xp: number,
    dy: number,
    out: number,
    h: number,
    w: number,
    ci: number,
    co: number,
    rowStart: number,
    rowEnd: number,
  ): void;
  /** convFilterGrad3x3 for a single input channel (ci = 1). */
  convFilterGrad3x3Single(
    xp: number,
    dy: number,
    out: number,
    h: number,
    w: number,
    co: number,
    rowStart: number,
    rowEnd: number,
  ): void;
  /** The byte offset of a tensor's data in the heap. */
  offsetOf(info: tf.TensorInfo): number;
  /** A scratch area of at least `bytes` bytes, reused by the next call (kernels run one at a time). */
  scratch(bytes: number): number;
  /** The heap as it is now (it may have grown, which detaches earlier views). */
  buffer(): ArrayBuffer;
}

export const simdKernels = { enabled: true };

/** The module's array functions, for arrays in a memory of their own (any backend). */
export interface SimdArrays {
  memory: WebAssembly.Memory;
  /** dst = (init ? 0 : dst) + weight * src, n float32 (a multiple of 4). */
  weightedAdd(dst: number, src: number, n: number, weight: number, init: number): void;
  /** One Adam step in place; see kernels.wat. n a multiple of 4. */
  adam(
    w: number,
    m: number,
    v: number,
    g: number,
    n: number,
    beta1: number,
    beta2: number,
    step: number,
    root: number,
    eps: number,
  ): void;
}

/** A fresh instance of the module on a zeroed memory of at least `bytes` bytes. */
export function simdArrays(bytes: number): SimdArrays {
  const memory = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  const exports = new WebAssembly.Instance(compiledModule(), { env: { memory } }).exports as unknown as Omit<
    SimdArrays,
    'memory'
  >;
  return { memory, weightedAdd: exports.weightedAdd, adam: exports.adam };
}

function compiledModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(KERNELS_WASM_BASE64, 'base64'));
  return compiled;
}

interface WasmBackend {
  wasm?: { asm?: { memory?: WebAssembly.Memory }; _malloc(bytes: number): number; _free(ptr: number): void };
  dataIdMap?: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
}

const instances = new WeakMap<object, SimdKernels | null>();
let compiled: WebAssembly.Module | null = null;

export function simdKernelsFor(backend: unknown): SimdKernels | null {
  if (!simdKernels.enabled) return null;
  const b = backend as WasmBackend;
  if (!instances.has(b)) instances.set(b, instantiate(b));
  return instances.get(b)!;
}

function instantiate(backend: WasmBackend): SimdKernels | null {
  const memory = backend.wasm?.asm?.memory;
  const dataIdMap = backend.dataIdMap;
  const wasm = backend.wasm;
  if (
    !memory ||
    !dataIdMap ||
    !wasm ||
    (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer)
  )
    return null;
  const exports = new WebAssembly.Instance(compiledModule(), { env: { memory } }).exports as unknown as Pick<
    SimdKernels,
    'chanSums' | 'chanAffine' | 'maxPoolGrad2x2' | 'convFilterGrad3x3' | 'convFilterGrad3x3Single'
  >;
  let scratchPtr = 0;
  let scratchBytes = 0;
  return {
    chanSums: exports.chanSums,
    chanAffine: exports.chanAffine,
    maxPoolGrad2x2: exports.maxPoolGrad2x2,
    convFilterGrad3x3: exports.convFilterGrad3x3,
    convFilterGrad3x3Single: exports.convFilterGrad3x3Single,
    offsetOf(info) {
      const entry = dataIdMap.get(info.dataId);
      if (!entry) throw new Error('simd kernels: a tensor without data on the wasm heap');
      return entry.memoryOffset;
    },
    scratch(bytes) {
      if (bytes > scratchBytes) {
        if (scratchPtr) wasm._free(scratchPtr);
        scratchBytes = Math.max(bytes, 2 * scratchBytes);
        scratchPtr = wasm._malloc(scratchBytes);
        if (!scratchPtr) throw new Error(`simd kernels: could not allocate ${scratchBytes} bytes of scratch`);
      }
      return scratchPtr;
    },
    buffer: () => memory.buffer,
  };
}
