/**
 * `npx tsx scripts/build-wasm-kernels.ts`
 *
 * Compiles lib/ml/kernels/simd/kernels.wat into lib/ml/kernels/simd/kernels-wasm.ts (the bytes
 * as base64), which is committed: the app and the worker load those bytes and never need the
 * compiler. tests/unit/ml/simd-kernels.test.ts fails when the two differ.
 */
import fs from 'node:fs';
import { runCli } from './cli';
import { WASM_KERNELS_BYTES, wasmKernelsSource } from './lib/wat';

await runCli(async () => {
  const source = await wasmKernelsSource();
  fs.writeFileSync(WASM_KERNELS_BYTES, source);
  console.log(`${WASM_KERNELS_BYTES}: ${Buffer.byteLength(source)} bytes`);
});
