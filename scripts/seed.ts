import { prepareDatabase } from './prepare';
import { runCli } from './cli';

/** `npm run seed`: migrate, seed the demo (on an empty database) and score, without serving. */
await runCli(() => prepareDatabase((line) => console.log(`[seed] ${line}`)));
