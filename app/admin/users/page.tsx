import { getDb } from '@/db/client';
import { USER_ROLES } from '@/db/schema';
import { listUsers } from '@/lib/auth/users';
import { requirePageAccess } from '@/lib/http/page-auth';
import { CreateUserForm, UserRowActions } from './user-forms';

export const dynamic = 'force-dynamic';

export default async function UsersPage() {
  const access = await requirePageAccess('users.manage', '/admin/users');
  const users = await listUsers(getDb(), { actor: access.actor });
  return (
    <main className="mx-auto max-w-6xl p-6">
      <h1 className="text-2xl font-semibold">Users</h1>

      <section className="mt-4 rounded border border-gray-200 bg-white p-4">
        <h2 className="mb-3 font-medium">New user</h2>
        <CreateUserForm roles={USER_ROLES} />
      </section>

      {/* Wider than a phone: the table scrolls inside its own box, never the page. */}
      <div className="mt-6 overflow-x-auto">
        <table className="w-full border-collapse bg-white text-sm" data-testid="users-table">
          <thead>
            <tr className="border-b text-left text-gray-600">
              <th className="p-2">Email</th>
              <th className="p-2">Name</th>
              <th className="p-2">Role</th>
              <th className="p-2">Status</th>
              <th className="p-2">Created</th>
              <th className="p-2">Change</th>
            </tr>
          </thead>
          <tbody>
            {users.map((user) => (
              <tr key={user.id} className="border-b align-top" data-testid="user-row" data-email={user.email}>
                <td className="p-2">
                  {user.email}
                  {user.id === access.actor.userId && <span className="ml-1 text-gray-500">(you)</span>}
                </td>
                <td className="p-2">{user.name}</td>
                <td className="p-2" data-testid="user-role">
                  {user.role}
                </td>
                <td className="p-2" data-testid="user-status">
                  {user.disabled ? <span className="text-red-700">disabled</span> : 'active'}
                </td>
                <td className="p-2 whitespace-nowrap text-gray-600">{user.createdAt.toISOString().slice(0, 10)}</td>
                <td className="p-2">
                  <UserRowActions user={user} isSelf={user.id === access.actor.userId} roles={USER_ROLES} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="mt-3 text-sm text-gray-600">
        A disabled user is signed out on their next request and their held items go back to the queue. The last active
        admin cannot be demoted or disabled.
      </p>
    </main>
  );
}
