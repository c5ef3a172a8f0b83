// What a catalogue's item count includes, in words. No server imports: the browser's client
// components render it.

/** What a reader's item count includes: the catalogue's evaluation items and whether they are in it. */
export interface CatalogueScope {
  /** Evaluation items are counted in (and listed) for this reader. */
  evaluationShown: boolean;
  holdout: number;
  /** Null for a reader who may not see gold items: their number would say how much of the queue is a test. */
  gold: number | null;
}

const number = (n: number) => n.toLocaleString('en-US');

/** "2,000 holdout and 50 gold items": the roles with items, gold left out when its count is null. */
function evaluationParts(counts: { holdout: number; gold: number | null }): string {
  const parts = [
    counts.holdout > 0 ? `${number(counts.holdout)} holdout` : null,
    counts.gold ? `${number(counts.gold)} gold` : null,
  ].filter((part) => part !== null);
  if (parts.length === 0) return '';
  const last = counts.gold ? counts.gold : counts.holdout;
  return `${parts.join(' and ')} item${last === 1 ? '' : 's'}`;
}

/**
 * The sentence beside a catalogue's item count, saying what it includes: "excluding 2,000
 * holdout items" for a reviewer, "including 2,000 holdout and 50 gold items" for ops. Empty
 * when the catalogue has no evaluation item the reader could be told of.
 */
export function describeScope(scope: CatalogueScope): string {
  const parts = evaluationParts(scope);
  if (!parts) return '';
  return `${scope.evaluationShown ? 'including' : 'excluding'} ${parts}`;
}

/**
 * For counts that leave every evaluation item out whoever reads them (the catalogue list's
 * status counts): "excluding 2,000 holdout and 50 gold items", gold named only for readers who
 * may see it.
 */
export function describeExcluded(counts: { holdout: number; gold: number | null }): string {
  const parts = evaluationParts(counts);
  return parts ? `excluding ${parts}` : '';
}
