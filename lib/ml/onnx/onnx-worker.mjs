// Worker threads start as plain Node, whatever loader their parent had (vitest, tsx): this
// registers tsx in the worker's own thread, with the project's tsconfig so that `@/` imports
// resolve from any current directory, and then loads the TypeScript entry.
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

register({ tsconfig: fileURLToPath(new URL('../../../tsconfig.json', import.meta.url)) });
await import('./onnx-worker.ts');
