import { countWhere, decidedCte, queryAll, ratio, round, type Figure, type FigureContext } from './common';

export type OverrideRow = { class: string; decisions: number; overridden: number; overrideRate: number | null };

/**
 * Per class the model predicted: the share of standing human decisions (confirm, correct)
 * where the reviewer chose another class. Every decision counts, audits and gold included.
 */
export async function overrideRateByClass(ctx: FigureContext): Promise<Figure<OverrideRow>> {
  const counts = await queryAll<{ model: number; decisions: number; overridden: number }>(
    ctx.db,
    `${await decidedCte(ctx.db)}
     select model_label as model, count(*) as decisions, ${countWhere('chosen_label <> model_label')} as overridden
     from decided where model_label is not null and chosen_label is not null group by model_label`,
    ctx.catalogueId,
  );
  const byClass = new Map(counts.map((c) => [c.model, c]));
  const rows = ctx.classNames.map((name, c) => {
    const n = byClass.get(c) ?? { decisions: 0, overridden: 0 };
    return {
      class: name,
      decisions: n.decisions,
      overridden: n.overridden,
      overrideRate: round(ratio(n.overridden, n.decisions)),
    };
  });
  const empty = counts.length === 0;
  return {
    source: 'reviewed',
    rows: empty ? [] : rows,
    columns: ['class', 'decisions', 'overridden', 'overrideRate'],
    note: empty ? 'No decisions yet.' : 'Over reviewed items, which the model was unsure of.',
  };
}
