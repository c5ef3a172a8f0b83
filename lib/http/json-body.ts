import { z } from 'zod';
import { AppError, badInput, httpStatusOf, isAppError } from '@/lib/errors';
import { describeZodError } from '@/lib/validate';

/**
 * The JSON API's body checks and error shape, shared by Next's route handlers (./api-route.ts)
 * and the routes the production server answers itself (./node-json-routes.ts). No Next imports:
 * the production server loads this before Next has started.
 */

/** The status and body of `errorResponse`, for servers that write the answer themselves. */
export function errorAnswer(error: unknown): { status: number; body: { error: { code: string; message: string } } } {
  const appError = toAppError(error);
  if (appError.code === 'internal') console.error('[api] internal error:', error);
  return { status: httpStatusOf(appError), body: { error: { code: appError.code, message: appError.message } } };
}

function toAppError(error: unknown): AppError {
  if (isAppError(error)) return error;
  if (error instanceof z.ZodError) return badInput(describeZodError(error));
  return new AppError('internal', 'Something went wrong on the server; the error was logged.');
}

/** 415 unless the body is declared as JSON (the first of parseJsonBody's checks). */
export function assertJsonContentType(header: string | null | undefined): void {
  const contentType = header ?? '';
  if (!/^application\/json\s*(;|$)/i.test(contentType)) {
    throw new AppError(
      'unsupported_media_type',
      `Send the request body as JSON with Content-Type: application/json${contentType ? ` (not ${contentType.slice(0, 80)})` : ''}.`,
    );
  }
}

/** A body read within its limit, parsed as JSON (400 when it is not). */
export function parseJsonBytes(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw badInput('The request body must be JSON.');
  }
}
