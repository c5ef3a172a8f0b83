/**
 * The one error type Loupe raises on purpose. `code` decides the HTTP status (in one place,
 * `httpStatusOf`) and the CLI exit message; `message` is a sentence a person can act on and
 * is safe to show. Internal causes go in `cause` and are logged, never sent to a client.
 */
export type AppErrorCode =
  | 'bad_input'
  | 'not_found'
  | 'forbidden'
  | 'unauthorized'
  | 'conflict'
  | 'too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'internal';

export class AppError extends Error {
  readonly code: AppErrorCode;

  constructor(code: AppErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
  }
}

const STATUS: Record<AppErrorCode, number> = {
  bad_input: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal: 500,
};

export function httpStatusOf(error: AppError): number {
  return STATUS[error.code];
}

export function badInput(message: string): AppError {
  return new AppError('bad_input', message);
}

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
