/**
 * The catalogue browser's filter parameters, in the order the browser shows them. Apart from
 * browse.ts so that client components (the export links) can read the list without bundling
 * the database code; browse.ts checks its schema has exactly these fields.
 */
export const ITEM_FILTER_NAMES = [
  'status',
  'predicted',
  'label',
  'labelSource',
  'evalRole',
  'minConfidence',
  'maxConfidence',
] as const;
export type ItemFilterName = (typeof ITEM_FILTER_NAMES)[number];
