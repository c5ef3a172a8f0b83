/**
 * A fresh PostgreSQL database per test file, on the server named by LOUPE_TEST_DATABASE_URL
 * (.ci/run starts a private one): created, migrated, and dropped after.
 */
import pg from 'pg';
import { closeDb, openDb, type Db } from '@/db/client';
import { migrateDb } from '@/db/migrate';

export function adminUrl(): string {
  const url = process.env.LOUPE_TEST_DATABASE_URL;
  if (!url)
    throw new Error(
      'The PostgreSQL tests need LOUPE_TEST_DATABASE_URL: a server where they may create databases (.ci/run starts one).',
    );
  return url;
}

async function admin(query: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(query);
  } finally {
    await client.end();
  }
}

export interface PgTestDb {
  db: Db;
  url: string;
  drop: () => Promise<void>;
}

export async function freshPgDb(): Promise<PgTestDb> {
  const name = `loupe_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  await admin(`create database ${name}`);
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const db = openDb(url.toString());
  await migrateDb(db);
  return {
    db,
    url: url.toString(),
    drop: async () => {
      await closeDb(db);
      await admin(`drop database if exists ${name} with (force)`);
    },
  };
}
