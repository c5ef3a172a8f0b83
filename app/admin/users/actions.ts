'use server';

import { revalidatePath } from 'next/cache';
import { z } from 'zod';
import { getDb } from '@/db/client';
import { USER_ROLES } from '@/db/schema';
import { PasswordSchema } from '@/lib/auth/passwords';
import { createUser, resetPassword, setUserDisabled, setUserRole, type UserSummary } from '@/lib/auth/users';
import { formString } from '@/lib/http/form-fields';
import { runAction, type ActionResult } from '@/lib/http/server-action';

// Server actions are public POST endpoints: each goes through runAction (users.manage) and a
// lib function that checks the permission again and validates its input with zod.

const UserIdField = z.coerce.number({ error: 'the user id is missing' }).int().positive();

export async function createUserAction(
  _previous: ActionResult<UserSummary> | null,
  form: FormData,
): Promise<ActionResult<UserSummary>> {
  return runAction('users.manage', async (actor) => {
    const role = z
      .enum(USER_ROLES, { error: `a role is one of ${USER_ROLES.join(', ')}` })
      .parse(formString(form, 'role'));
    const user = await createUser(getDb(), {
      actor,
      email: formString(form, 'email'),
      name: formString(form, 'name'),
      password: formString(form, 'password'),
      role,
    });
    revalidatePath('/admin/users');
    return user;
  });
}

export async function setRoleAction(
  _previous: ActionResult<UserSummary> | null,
  form: FormData,
): Promise<ActionResult<UserSummary>> {
  return runAction('users.manage', async (actor) => {
    const role = z
      .enum(USER_ROLES, { error: `a role is one of ${USER_ROLES.join(', ')}` })
      .parse(formString(form, 'role'));
    const user = await setUserRole(getDb(), { actor, userId: UserIdField.parse(formString(form, 'userId')), role });
    revalidatePath('/admin/users');
    return user;
  });
}

export async function setDisabledAction(
  _previous: ActionResult<UserSummary> | null,
  form: FormData,
): Promise<ActionResult<UserSummary>> {
  return runAction('users.manage', async (actor) => {
    const disabled =
      z.enum(['true', 'false'], { error: 'say whether to disable or enable' }).parse(formString(form, 'disabled')) ===
      'true';
    const user = await setUserDisabled(getDb(), {
      actor,
      userId: UserIdField.parse(formString(form, 'userId')),
      disabled,
    });
    revalidatePath('/admin/users');
    return user;
  });
}

export async function resetPasswordAction(
  _previous: ActionResult<{ userId: number }> | null,
  form: FormData,
): Promise<ActionResult<{ userId: number }>> {
  return runAction('users.manage', async (actor) => {
    const userId = UserIdField.parse(formString(form, 'userId'));
    // Parsed here too (lib checks again) so the message names the field: "password: ...".
    const { password } = z.object({ password: PasswordSchema }).parse({ password: formString(form, 'password') });
    await resetPassword(getDb(), { actor, userId, password });
    return { userId };
  });
}
