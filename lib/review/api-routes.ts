import { z } from 'zod';
import { getDb } from '@/db/client';
import { requireCatalogue } from '@/lib/catalogues';
import { jsonRoute, type JsonRoute } from '@/lib/http/json-route';
import { recordReview, SubmitGridReviewInput, SubmitReviewInput } from './decisions';
import { submitGridKeepingLive } from './grid-and-undo';
import { releaseLeases, renewLeases } from './leases';
import { claimBatch, claimNext } from './queue';

/**
 * The review queue's routes a reviewer's page calls for every item: claim, submit, the grid's
 * claim and submit, lease heartbeats and releases. Each is defined once here; the route files
 * under app/api/v1 serve them through Next, and the production server (scripts/serve-web.ts)
 * answers them directly when the session is fresh (lib/http/node-json-routes.ts).
 */
const catalogueSlug = z.string().min(1, 'name the catalogue by its slug');
const MAX_GRID_SIZE = 50;

/** The focus view's next item, leased to the reviewer; `{item: null}` when nothing is left for them. */
export const claimRoute = jsonRoute({
  permission: 'items.review',
  body: z.object({
    catalogue: catalogueSlug,
    /** Items the page already shows or has prefetched: the claim hands out another one. */
    holding: z.array(z.number().int().positive()).max(5).optional(),
  }),
  handle: async ({ actor, body }) => {
    const db = getDb();
    const catalogue = await requireCatalogue(db, body.catalogue);
    return { item: await claimNext(db, { actor, catalogueId: catalogue.id, holding: body.holding }) };
  },
});

/** The grid view's batch: up to `size` items the active model put in `predictedClass`, leased together. */
export const claimBatchRoute = jsonRoute({
  permission: 'items.review',
  body: z.object({
    catalogue: catalogueSlug,
    predictedClass: z.number().int().nonnegative(),
    size: z.number().int().min(1).max(MAX_GRID_SIZE, `a grid holds at most ${MAX_GRID_SIZE} items`).default(25),
  }),
  handle: async ({ actor, body }) => {
    const db = getDb();
    const catalogue = await requireCatalogue(db, body.catalogue);
    return {
      items: await claimBatch(db, {
        actor,
        catalogueId: catalogue.id,
        predictedClass: body.predictedClass,
        size: body.size,
      }),
    };
  },
});

const ItemIds = z.object({ itemIds: z.array(z.number().int().positive()) });

/** Renews the reviewer's leases; items whose hold lapsed come back in `lost` (200 all the same). */
export const heartbeatRoute = jsonRoute({
  permission: 'items.review',
  body: ItemIds,
  handle: async ({ actor, body }) => await renewLeases(getDb(), { actor, itemIds: body.itemIds }),
});

/** Gives the reviewer's held items back to the queue (sent when the page is hidden or closed). */
export const releaseRoute = jsonRoute({
  permission: 'items.review',
  body: ItemIds,
  handle: async ({ actor, body }) => await releaseLeases(getDb(), { actor, itemIds: body.itemIds }),
});

/**
 * One decision from the focus view. Idempotent on `clientId`: a retry answers the first
 * result with `replayed: true`. 409 when the reviewer's hold on the item has lapsed.
 */
export const submitRoute = jsonRoute({
  permission: 'items.review',
  body: SubmitReviewInput,
  handle: async ({ actor, body }) => {
    const { review, replayed } = await recordReview(getDb(), { actor, review: body });
    return {
      review: {
        id: review.id,
        itemId: review.itemId,
        action: review.action,
        modelLabel: review.modelLabel,
        chosenLabel: review.chosenLabel,
        durationMs: review.durationMs,
        clientId: review.clientId,
        createdAt: review.createdAt,
      },
      replayed,
    };
  },
});

/**
 * A whole grid: `label: null` confirms the model's answer, a class index corrects it. Every
 * decision whose hold is live is recorded; the others come back with `status: "lost"`.
 */
export const gridSubmitRoute = jsonRoute({
  permission: 'items.review',
  body: z.object({ catalogue: catalogueSlug, decisions: SubmitGridReviewInput.shape.decisions }),
  handle: async ({ actor, body }) => {
    const db = getDb();
    const catalogue = await requireCatalogue(db, body.catalogue);
    return {
      results: await submitGridKeepingLive(db, { actor, catalogueId: catalogue.id, decisions: body.decisions }),
    };
  },
});

/** The routes above by path, for lib/http/node-json-routes.ts. */
export const REVIEW_HOT_ROUTES: ReadonlyMap<string, JsonRoute> = new Map([
  ['/api/v1/queue/claim', claimRoute],
  ['/api/v1/queue/claim-batch', claimBatchRoute],
  ['/api/v1/queue/heartbeat', heartbeatRoute],
  ['/api/v1/queue/release', releaseRoute],
  ['/api/v1/reviews', submitRoute],
  ['/api/v1/reviews/grid', gridSubmitRoute],
]);
