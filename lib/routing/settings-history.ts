import { and, desc, eq, inArray, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import { type Reader, firstRow } from '@/db/client';
import { settingsChanges, users } from '@/db/schema';
import { AppError } from '@/lib/errors';
import { parseInput } from '@/lib/validate';

/**
 * The history of a catalogue's routing settings (one settings_changes row per changed field,
 * who, old and new value): reading it back for the settings page, and naming who changed a
 * value when a stale form is refused.
 */

export const ROUTING_FIELDS = ['threshold', 'perClassThresholds', 'auditRate', 'goldRate'] as const;
export type RoutingField = (typeof ROUTING_FIELDS)[number];

/** Settings values compare by their JSON, as they are stored in the history. */
export function sameSettingValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** A stored setting value; a row that is not JSON (never written by Loupe) reads as its text. */
function parseJson(json: string | null): unknown {
  if (json === null) return null;
  try {
    return JSON.parse(json) as unknown;
  } catch {
    return json;
  }
}

/** A routing value as the settings page shows it: a number, or "Shirt 0.97, Bag 0.95" / "none". */
export function describeRoutingValue(value: unknown, classNames: string[]): string {
  if (typeof value === 'number') return String(value);
  if (value === null || typeof value !== 'object') return '?';
  const entries = Object.entries(value as Record<string, unknown>);
  return entries.length === 0
    ? 'none'
    : entries.map(([k, v]) => `${classNames[Number(k)] ?? `class ${k}`} ${String(v)}`).join(', ');
}

/**
 * The refusal of a form that was loaded before someone else changed the setting it would
 * overwrite (a lost update otherwise: the stale value would be saved back without a word).
 * Names who made the latest recorded change of `field` when that change set `stored`.
 */
export async function staleSettingError(
  db: Reader,
  input: { catalogueId: number; field: string; what: string; value: string; stored: unknown },
): Promise<AppError> {
  const latest = await db
    .select({ userId: settingsChanges.userId, email: users.email, newValue: settingsChanges.newValue })
    .from(settingsChanges)
    .leftJoin(users, eq(users.id, settingsChanges.userId))
    .where(and(eq(settingsChanges.catalogueId, input.catalogueId), eq(settingsChanges.field, input.field)))
    .orderBy(desc(settingsChanges.id))
    .limit(1)
    .then(firstRow);
  // Named only when the latest recorded change is the one that set the stored value.
  const recorded = latest && latest.newValue !== null && sameSettingValue(parseJson(latest.newValue), input.stored);
  const by = !recorded ? '' : latest.userId === null ? ' by a script' : ` by ${latest.email ?? 'another user'}`;
  return new AppError(
    'conflict',
    `${input.what} changed to ${input.value}${by} since you loaded this page; reload to see it.`,
  );
}

export interface RoutingChange {
  id: number;
  field: RoutingField;
  /** Parsed JSON: a number, or an override map for perClassThresholds. */
  oldValue: unknown;
  newValue: unknown;
  createdAt: Date;
  /** Null for a change made by a script. */
  userEmail: string | null;
}

/**
 * One catalogue's settings_changes rows whose field matches `fields`, newest first, with who
 * made each change and the values parsed: the routing history and the retrain policy's alike.
 */
export async function readSettingsChanges(db: Reader, options: { catalogueId: number; fields: SQL; limit?: number }) {
  const limit = parseInput(z.number().int().min(1).max(500), options.limit ?? 20);
  return (
    await db
      .select({
        id: settingsChanges.id,
        field: settingsChanges.field,
        oldValue: settingsChanges.oldValue,
        newValue: settingsChanges.newValue,
        createdAt: settingsChanges.createdAt,
        userEmail: users.email,
      })
      .from(settingsChanges)
      .leftJoin(users, eq(users.id, settingsChanges.userId))
      .where(and(eq(settingsChanges.catalogueId, options.catalogueId), options.fields))
      .orderBy(desc(settingsChanges.createdAt), desc(settingsChanges.id))
      .limit(limit)
  ).map((row) => ({ ...row, oldValue: parseJson(row.oldValue), newValue: parseJson(row.newValue) }));
}

/** A catalogue's routing-rule history (threshold, overrides, audit and gold rate), newest first. */
export async function listRoutingChanges(
  db: Reader,
  options: { catalogueId: number; limit?: number },
): Promise<RoutingChange[]> {
  return (
    await readSettingsChanges(db, { ...options, fields: inArray(settingsChanges.field, [...ROUTING_FIELDS]) })
  ).map((row) => ({ ...row, field: row.field as RoutingField }));
}
