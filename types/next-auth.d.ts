import type { UserRole } from '@/db/schema';

// The session and token carry the user id and role; every request still re-reads the
// user from the database (findActiveActor), so a disabled user or changed role applies at once.
declare module 'next-auth' {
  interface Session {
    user: { id: number; email: string; name: string; role: UserRole };
  }
  interface User {
    id: string;
    email: string;
    name: string;
    role: UserRole;
    sessionVersion: number;
  }
}

declare module 'next-auth/jwt' {
  interface JWT {
    userId?: number;
    role?: UserRole;
    /** users.session_version at sign-in; a cookie whose version is older is revoked. */
    sessionVersion?: number;
  }
}
