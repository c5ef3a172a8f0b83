import { and, desc, eq, like } from 'drizzle-orm';
import { z } from 'zod';
import type { Reader } from '@/db/client';
import { settingsChanges, users } from '@/db/schema';
import { parseInput } from '@/lib/validate';

export interface RetrainPolicyChange {
  id: number;
  key: string;
  oldValue: unknown;
  newValue: unknown;
  createdAt: Date;
  /** Null for a change made by a script. */
  userEmail: string | null;
}

/** The retrain policy's history, newest first. */
export function listRetrainPolicyChanges(
  db: Reader,
  options: { catalogueId: number; limit?: number },
): RetrainPolicyChange[] {
  const limit = parseInput(z.number().int().min(1).max(500), options.limit ?? 20);
  return db
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
    .where(and(eq(settingsChanges.catalogueId, options.catalogueId), like(settingsChanges.field, 'retrainPolicy.%')))
    .orderBy(desc(settingsChanges.createdAt), desc(settingsChanges.id))
    .limit(limit)
    .all()
    .map((row) => ({
      id: row.id,
      key: row.field.slice('retrainPolicy.'.length),
      oldValue: parseJson(row.oldValue),
      newValue: parseJson(row.newValue),
      createdAt: row.createdAt,
      userEmail: row.userEmail,
    }));
}

function parseJson(text: string | null): unknown {
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
