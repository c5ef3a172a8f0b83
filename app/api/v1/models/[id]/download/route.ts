import { z } from 'zod';
import { getDb } from '@/db/client';
import { apiRoute, parseSearchParams } from '@/lib/http/api-route';
import { downloadModelVersion, ModelDownloadFormat } from '@/lib/models/download';

export const dynamic = 'force-dynamic';

const ID_MESSAGE = 'the model version id is a positive whole number';
const Params = z.object({ id: z.coerce.number({ error: ID_MESSAGE }).int(ID_MESSAGE).positive(ID_MESSAGE) });
const Query = z.object({ format: ModelDownloadFormat.default('onnx') });

/** GET ?format=onnx|tfjs: a model version as model.onnx, or its TensorFlow.js folder as a zip. */
export const GET = apiRoute<{ id: string }>('dashboards.read', async ({ actor, request, params }) => {
  const { id } = Params.parse(params);
  const { format } = parseSearchParams(request, Query);
  const file = await downloadModelVersion(getDb(), { actor, modelVersionId: id, format });
  return new Response(Buffer.from(file.body), {
    headers: {
      'content-type': file.contentType,
      'content-disposition': `attachment; filename="${file.filename}"`,
      'content-length': String(file.body.byteLength),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    },
  });
});
