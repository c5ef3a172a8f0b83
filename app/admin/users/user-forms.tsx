'use client';

import type { UserRole } from '@/db/schema/users';
import { useRef } from 'react';
import { useConfirm, type ConfirmOptions } from '@/app/_components/confirm-dialog';
import { useFormAction } from '@/app/_components/use-form-action';
import { createUserAction, resetPasswordAction, setDisabledAction, setRoleAction } from './actions';

const input = 'rounded border border-gray-300 px-2 py-1';
const button = 'rounded bg-gray-900 px-3 py-1 text-white disabled:opacity-50';
const smallButton = 'rounded border border-gray-300 px-2 py-0.5 hover:bg-gray-100 disabled:opacity-50';

function Message({
  state,
  success,
  testId,
}: {
  state: { ok: boolean; message?: string } | null;
  success: string;
  testId: string;
}) {
  if (!state) return null;
  return state.ok ? (
    <p role="status" data-testid={`${testId}-ok`} className="text-sm text-green-700">
      {success}
    </p>
  ) : (
    <p role="alert" data-testid={`${testId}-error`} className="text-sm text-red-700">
      {state.message}
    </p>
  );
}

// The role list comes from the server page: importing the schema here would ship drizzle to the browser.
export function CreateUserForm({ roles }: { roles: readonly UserRole[] }) {
  const { state, pending, formRef, onSubmit } = useFormAction(createUserAction);
  return (
    <form ref={formRef} onSubmit={onSubmit} className="flex flex-wrap items-end gap-3" aria-label="Create a user">
      <label className="flex flex-col text-sm">
        Email
        <input name="email" type="email" required autoComplete="off" className={input} />
      </label>
      <label className="flex flex-col text-sm">
        Name
        <input name="name" required autoComplete="off" className={input} />
      </label>
      <label className="flex flex-col text-sm">
        Role
        <select name="role" defaultValue="reviewer" className={input}>
          {roles.map((role) => (
            <option key={role}>{role}</option>
          ))}
        </select>
      </label>
      <label className="flex flex-col text-sm">
        Password (at least 10 characters)
        <input name="password" type="password" required autoComplete="new-password" className={input} />
      </label>
      <button type="submit" disabled={pending} className={button}>
        {pending ? 'Creating…' : 'Create user'}
      </button>
      <div className="basis-full">
        <Message
          state={state}
          success={state?.ok ? `Created ${state.data.email} (${state.data.role}).` : ''}
          testId="create-user"
        />
      </div>
    </form>
  );
}

function disableQuestion(email: string, isSelf: boolean): ConfirmOptions {
  return {
    title: isSelf ? 'Disable your own account?' : `Disable ${email}?`,
    body: isSelf
      ? 'You will be signed out at once, and only another admin can enable your account again.'
      : `${email} is signed out on their next request and can no longer sign in; the items they hold go back to the queue. Their reviews stay. You can enable the account again later.`,
    confirmLabel: isSelf ? 'Disable my account' : 'Disable',
    tone: 'danger',
  };
}

/** Role, enable/disable and password reset for one user; each says what the server answered. */
export function UserRowActions({
  user,
  isSelf,
  roles,
}: {
  user: { id: number; email: string; role: UserRole; disabled: boolean };
  isSelf: boolean;
  roles: readonly UserRole[];
}) {
  const role = useFormAction(setRoleAction, { resetAfter: 'failure' });
  const toggle = useFormAction(setDisabledAction);
  const [confirm, confirmDialog] = useConfirm();
  const disableConfirmed = useRef(false);
  const reset = useFormAction(resetPasswordAction);
  return (
    <div className="flex flex-col gap-1">
      <div className="flex flex-wrap items-center gap-3">
        <form
          ref={role.formRef}
          onSubmit={role.onSubmit}
          className="flex items-center gap-1"
          aria-label={`Role of ${user.email}`}
        >
          <input type="hidden" name="userId" value={user.id} />
          {/* Remounted when the role changes, so the select shows what the server stored. */}
          <select key={user.role} name="role" defaultValue={user.role} aria-label="Role" className={input}>
            {roles.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
          <button type="submit" disabled={role.pending} className={smallButton}>
            Change role
          </button>
        </form>
        <form
          ref={toggle.formRef}
          onSubmit={(event) => {
            // Enabling goes straight through; disabling asks first, then submits the form again.
            if (user.disabled || disableConfirmed.current) {
              disableConfirmed.current = false;
              toggle.onSubmit(event);
              return;
            }
            event.preventDefault();
            const form = event.currentTarget;
            void confirm(disableQuestion(user.email, isSelf)).then((yes) => {
              if (!yes) return;
              disableConfirmed.current = true;
              form.requestSubmit();
            });
          }}
          aria-label={`${user.disabled ? 'Enable' : 'Disable'} ${user.email}`}
        >
          <input type="hidden" name="userId" value={user.id} />
          <input type="hidden" name="disabled" value={String(!user.disabled)} />
          <button type="submit" disabled={toggle.pending} className={smallButton}>
            {user.disabled ? 'Enable' : 'Disable'}
          </button>
        </form>
        {confirmDialog}
        <form
          ref={reset.formRef}
          onSubmit={reset.onSubmit}
          className="flex items-center gap-1"
          aria-label={`Reset the password of ${user.email}`}
        >
          <input type="hidden" name="userId" value={user.id} />
          <input
            name="password"
            type="password"
            required
            placeholder="new password"
            aria-label="New password"
            autoComplete="new-password"
            className={`${input} w-40`}
          />
          <button type="submit" disabled={reset.pending} className={smallButton}>
            Reset password
          </button>
        </form>
      </div>
      <Message
        state={role.state}
        success={role.state?.ok ? `Role is now ${role.state.data.role}.` : ''}
        testId="user-role"
      />
      <Message
        state={toggle.state}
        success={toggle.state?.ok ? (toggle.state.data.disabled ? 'Disabled.' : 'Enabled.') : ''}
        testId="user-disabled"
      />
      <Message state={reset.state} success="Password reset." testId="user-password" />
    </div>
  );
}
