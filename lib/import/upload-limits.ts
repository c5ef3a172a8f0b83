/**
 * Limits of an import uploaded through the web app, shared by the server (which enforces
 * them) and the import page (which checks before sending, so nobody waits for a refusal).
 * No Node imports here: client components import this file.
 */

/** All files of one upload together. Larger data sets go through `npm run import` on the server. */
export const MAX_UPLOAD_BYTES = 64 * 1024 * 1024;
/** Image files in one upload. */
export const MAX_UPLOAD_FILES = 2000;

export function describeBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** `bytes` null: the size is not known, only that it passed the limit (a streamed body). */
export function tooLargeMessage(bytes: number | null, maxBytes: number = MAX_UPLOAD_BYTES): string {
  const size = bytes === null ? `larger than ${describeBytes(maxBytes)}` : describeBytes(bytes);
  return `The upload is ${size}; one import may be at most ${describeBytes(maxBytes)} in total. Split the data into smaller files, or import it on the server with npm run import.`;
}
