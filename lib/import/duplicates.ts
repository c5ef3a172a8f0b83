/**
 * The sentence about images an import found already in the catalogue (same pixels, by hash).
 * No server imports: the Import page shows the same sentence as `npm run import`.
 */

/** How many ids of matching items a report names before "...". */
export const DUPLICATE_IDS_SHOWN = 5;

export interface DuplicateReport {
  /** Rows whose pixels match an item already in the catalogue or an earlier row of the same file. */
  duplicates: number;
  /** How many distinct items they match (several copies of one image match one item). */
  duplicateItems: number;
  /** The first DUPLICATE_IDS_SHOWN of those items' ids, in the order met. */
  duplicateOf: number[];
  /** True when the duplicates were imported anyway (keepDuplicates). */
  duplicatesKept: boolean;
}

/** "3 images already in the catalogue (items 12, 13, 14); they were skipped." or null for none. */
export function describeDuplicates(report: DuplicateReport): string | null {
  const { duplicates, duplicateItems, duplicateOf, duplicatesKept } = report;
  if (duplicates === 0) return null;
  const shown = duplicateOf.slice(0, DUPLICATE_IDS_SHOWN).join(', ');
  const more = duplicateItems > duplicateOf.length ? ', ...' : '';
  const images = `${duplicates.toLocaleString('en')} ${duplicates === 1 ? 'image' : 'images'}`;
  const ids = `${duplicateItems === 1 ? 'item' : 'items'} ${shown}${more}`;
  const outcome = duplicatesKept
    ? `${duplicates === 1 ? 'it was' : 'they were'} imported again as asked`
    : `${duplicates === 1 ? 'it was' : 'they were'} skipped`;
  return `${images} already in the catalogue (${ids}); ${outcome}.`;
}
