// Worker-thread bootstrap for train-replica-worker.ts: registers tsx in this thread (see
// predict-worker.mjs for why the .ts entry cannot be started directly), then loads it.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../../tsconfig.json', import.meta.url)) });
await import('./train-replica-worker.ts');
