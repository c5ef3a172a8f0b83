import { badInput } from '@/lib/errors';
import { declaredLengthOver, readBodyWithLimit } from './request-guard';

const FORM_TYPES = /^multipart\/form-data|^application\/x-www-form-urlencoded/i;

/**
 * Reads a multipart (or urlencoded) body, refusing it with 413 once it passes `maxBytes`:
 * at once when Content-Length says so, otherwise while it streams in, so an oversized upload
 * is never held in memory whole. `describe` turns the size into the sentence the client sees.
 */
export async function readFormWithLimit(
  request: Request,
  options: { maxBytes: number; describe: (bytes: number | null) => string },
): Promise<FormData> {
  const contentType = request.headers.get('content-type') ?? '';
  if (declaredLengthOver(request.headers, options.maxBytes) === null && !FORM_TYPES.test(contentType)) {
    throw badInput('Send the upload as multipart/form-data.');
  }
  const body = await readBodyWithLimit(request, options);
  try {
    return await new Response(body, { headers: { 'content-type': contentType } }).formData();
  } catch {
    throw badInput('The upload could not be read as a form; send it as multipart/form-data.');
  }
}
