import type { Permission } from '@/lib/auth/permissions';

/** What a signed-in user sees on a page their role may not open (the server refused it with 403). */
export function Forbidden({ permission, role }: { permission: Permission | null; role: string | null }) {
  return (
    <main className="mx-auto max-w-xl p-8" data-testid="forbidden">
      <h1 className="text-xl font-semibold">Not allowed</h1>
      <p className="mt-2 text-gray-700">
        Your role{role ? ` (${role})` : ''} cannot open this page
        {permission ? (
          <>
            : it needs the <code>{permission}</code> permission
          </>
        ) : null}
        . Ask an admin if you need it.
      </p>
    </main>
  );
}
