import { like } from 'drizzle-orm';
import type { Reader } from '@/db/client';
import { settingsChanges } from '@/db/schema';
import { readSettingsChanges } from '@/lib/routing/settings-history';

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
export async function listRetrainPolicyChanges(
  db: Reader,
  options: { catalogueId: number; limit?: number },
): Promise<RetrainPolicyChange[]> {
  return (await readSettingsChanges(db, { ...options, fields: like(settingsChanges.field, 'retrainPolicy.%') })).map(
    (row) => ({
      id: row.id,
      key: row.field.slice('retrainPolicy.'.length),
      oldValue: row.oldValue,
      newValue: row.newValue,
      createdAt: row.createdAt,
      userEmail: row.userEmail,
    }),
  );
}
