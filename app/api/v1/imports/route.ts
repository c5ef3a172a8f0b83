import { getDb } from '@/db/client';
import { apiRoute } from '@/lib/http/api-route';
import { readFormWithLimit } from '@/lib/http/read-form';
import { listRecentImports } from '@/lib/import/status';
import { importUpload, parseUploadForm } from '@/lib/import/upload';
import { MAX_UPLOAD_BYTES, tooLargeMessage } from '@/lib/import/upload-limits';

export const dynamic = 'force-dynamic';

/** Room for the multipart boundaries and text fields around files of MAX_UPLOAD_BYTES. */
const FORM_OVERHEAD_BYTES = 64 * 1024;

/** Multipart upload of IDX, CSV or image files into a catalogue (fields: see parseUploadForm). */
export const POST = apiRoute('catalogue.import', async ({ actor, request }) => {
  const form = await readFormWithLimit(request, {
    maxBytes: MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES,
    describe: (bytes) => tooLargeMessage(bytes),
  });
  const input = await parseUploadForm(form);
  return importUpload(getDb(), { ...input, actor });
});

/**
 * GET ?catalogue=&unfinished=true&limit=: recent imports, newest first, with their progress
 * (`state`, rows `staged` and `inserted` of `total`): the Import page polls it during an upload.
 */
export const GET = apiRoute('catalogue.import', async ({ request }) => {
  const query = Object.fromEntries(new URL(request.url).searchParams);
  return { imports: await listRecentImports(getDb(), query) };
});
