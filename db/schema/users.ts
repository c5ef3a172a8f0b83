import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { checkIn, createdAtColumn } from './columns';

export const USER_ROLES = ['reviewer', 'admin', 'ops'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const users = sqliteTable(
  'users',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    // Stored lower-cased by the code that creates users; unique here so two sign-ups race safely.
    email: text('email').notNull().unique(),
    name: text('name').notNull(),
    passwordHash: text('password_hash').notNull(),
    role: text('role', { enum: USER_ROLES }).notNull().default('reviewer'),
    disabled: integer('disabled', { mode: 'boolean' }).notNull().default(false),
    // Stamped into each session cookie at sign-in; bumped by sign-out, password reset, disable
    // and role change, which revokes every cookie issued before (lib/auth/next-auth-options).
    sessionVersion: integer('session_version').notNull().default(0),
    createdAt: createdAtColumn(),
  },
  (t) => [checkIn('users_role_check', t.role, USER_ROLES)],
);
export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
