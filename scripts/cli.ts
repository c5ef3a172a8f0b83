import { ZodError } from 'zod';
import { isAppError } from '@/lib/errors';
import { describeZodError } from '@/lib/validate';

/**
 * Runs a command-line entry point: any failure becomes one line `error: <message>` on
 * stderr and exit code 1, never a stack trace (set LOUPE_DEBUG=1 to see one).
 */
export async function runCli(main: () => Promise<void>): Promise<void> {
  try {
    await main();
    process.exit(0);
  } catch (error) {
    if (process.env.LOUPE_DEBUG) console.error(error);
    console.error(`error: ${describeError(error)}`);
    process.exit(1);
  }
}

function describeError(error: unknown): string {
  if (isAppError(error)) return error.message;
  if (error instanceof ZodError) return describeZodError(error, { pathPrefix: '--', fallback: 'invalid arguments' });
  if (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    error.code.startsWith('ERR_PARSE_ARGS')
  )
    return error.message;
  return `unexpected failure: ${error instanceof Error ? error.message : String(error)}`;
}
