import type { DuplicateReport } from '@/lib/import/duplicates';

/** The Import page's side of /api/v1/imports: the answers' shapes and the upload itself. */

/** What POST /api/v1/imports answers (lib/import/upload.ts UploadImportResult). */
export interface ImportResponse extends DuplicateReport {
  importId: number;
  catalogue: { slug: string; name: string };
  created: boolean;
  total: number;
  inserted: number;
  alreadyPresent: number;
}

/** What GET /api/v1/imports/:id answers (lib/import/status.ts ImportStatus). */
export interface ImportStatusResponse {
  items: { unscored: number; auto_accepted: number; needs_review: number; reviewed: number };
  catalogueUnscored: number;
  activeModel: string | null;
}

export function count(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en')} ${n === 1 ? one : many}`;
}

/** Sends the form with XMLHttpRequest: fetch cannot report upload progress. */
export function upload(
  form: FormData,
  onProgress: (fraction: number) => void,
): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/imports');
    xhr.responseType = 'json';
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.upload.onload = () => onProgress(1);
    xhr.onload = () => resolve({ status: xhr.status, body: xhr.response as unknown });
    xhr.onerror = () =>
      reject(
        new Error(
          'The upload was cut off before the server answered; check the connection and the file size, then try again.',
        ),
      );
    xhr.send(form);
  });
}
