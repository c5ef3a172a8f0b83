import type { UserRole } from '@/db/schema';
import { AppError } from '@/lib/errors';

/** Who is acting: built from the session on every request, never from client input. */
export interface Actor {
  userId: number;
  role: UserRole;
  email: string;
}

/**
 * The one table of who may do what. Pages, route handlers, server actions and the mutating
 * `lib/` functions all ask `requirePermission`; nothing else compares roles.
 */
export const PERMISSIONS = {
  /** Claim items from the queue, decide them, undo, see one's own stats. */
  'items.review': ['reviewer', 'admin'],
  /** Browse catalogues, items, their predictions and review history. */
  'catalogue.read': ['reviewer', 'admin', 'ops'],
  'catalogue.import': ['admin'],
  'export.read': ['admin', 'ops'],
  'settings.write': ['admin'],
  'users.manage': ['admin'],
  'models.manage': ['admin'],
  'dashboards.read': ['admin', 'ops'],
  /** See gold items (known labels mixed blind into the queue): not reviewers, whom they measure. */
  'evaluation.read': ['admin', 'ops'],
  /** The model lab (/lab): see runs and their results; start runs and register a lab model as a candidate. */
  'lab.read': ['admin', 'ops'],
  'lab.run': ['admin'],
} as const satisfies Record<string, readonly UserRole[]>;

export type Permission = keyof typeof PERMISSIONS;

export const PERMISSION_NAMES = Object.keys(PERMISSIONS) as Permission[];

export function can(role: UserRole, permission: Permission): boolean {
  return (PERMISSIONS[permission] as readonly UserRole[]).includes(role);
}

/** The permissions of a role, e.g. for the UI to hide what the server would refuse anyway. */
export function permissionsOf(role: UserRole): Permission[] {
  return PERMISSION_NAMES.filter((permission) => can(role, permission));
}

/**
 * Throws `unauthorized` without an actor (signed out) and `forbidden` when the actor's role
 * lacks the permission; returns the actor, so callers get a non-null one back.
 */
export function requirePermission(actor: Actor | null | undefined, permission: Permission): Actor {
  if (!actor) throw new AppError('unauthorized', 'Sign in to continue.');
  if (!can(actor.role, permission)) {
    throw new AppError('forbidden', `Your role (${actor.role}) does not allow this (${permission}).`);
  }
  return actor;
}
