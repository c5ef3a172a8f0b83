/**
 * Round axis ticks for the charts (dashboards and the threshold projection): steps of 1, 2,
 * 2.5 or 5 times a power of ten, so a percentage axis reads 90%, 92%, 94% rather than
 * 90.3%, 92.1%. Pure functions of numbers; the chart components format the labels.
 */

const STEPS = [1, 2, 2.5, 5, 10];

/** The smallest round step that covers `span` in at most `maxTicks - 1` intervals. */
export function roundStep(span: number, maxTicks = 6): number {
  if (!(span > 0) || !Number.isFinite(span)) return 1;
  const intervals = Math.max(1, maxTicks - 1);
  const raw = span / intervals;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = STEPS.find((s) => s * power >= raw * (1 - 1e-9)) ?? 10;
  return step * power;
}

/** Rounds away floating-point dust (0.30000000000000004 -> 0.3) at the step's precision. */
function clean(value: number, step: number): number {
  const decimals = Math.max(0, Math.ceil(-Math.log10(step)) + 2);
  return Number(value.toFixed(decimals));
}

/** Every multiple of a round step from `min` to `max` (both included when they are multiples). */
export function roundTicks(min: number, max: number, maxTicks = 6): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max) || max < min) return [];
  if (max === min) return [min];
  const step = roundStep(max - min, maxTicks);
  const first = Math.ceil(min / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let t = first; t <= max + step * 1e-9; t += step) ticks.push(clean(t, step));
  return ticks;
}

/**
 * An accuracy axis: from a round value at or below the lowest figure (with a little room) up to
 * 100%, never below 0, and its round ticks. `values` may hold nulls (no figure at that point).
 */
export function accuracyAxis(
  values: (number | null | undefined)[],
  maxTicks = 6,
): { domain: [number, number]; ticks: number[] } {
  const present = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  const lowest = present.length > 0 ? Math.min(...present) : 0;
  const span = Math.max(1 - lowest, 0.01);
  const step = roundStep(span * 1.1, maxTicks);
  const floor = Math.max(0, clean(Math.floor((lowest - span * 0.05) / step) * step, step));
  return { domain: [floor, 1], ticks: roundTicks(floor, 1, maxTicks) };
}

/** The ticks of a count axis (whole numbers only) from 0 to at least `max`, and its top. */
export function countAxis(max: number, maxTicks = 6): { domain: [number, number]; ticks: number[] } {
  const top = Math.max(1, max);
  const round = roundStep(top, maxTicks);
  // Whole numbers only: 0.5 becomes 1, and 2.5 (the one fractional round step above 1) becomes 5.
  const step = round < 1 ? 1 : Number.isInteger(round) ? round : round * 2;
  const end = Math.ceil(top / step) * step;
  const ticks: number[] = [];
  for (let t = 0; t <= end; t += step) ticks.push(t);
  return { domain: [0, end], ticks };
}
