'use client';

import { signIn } from 'next-auth/react';
import { useState, type FormEvent } from 'react';

export function SignInForm({ callbackUrl }: { callbackUrl: string }) {
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    setPending(true);
    setError(null);
    const result = await signIn('credentials', {
      email: form.get('email'),
      password: form.get('password'),
      redirect: false,
    });
    setPending(false);
    if (result?.ok && !result.error) {
      window.location.assign(callbackUrl);
      return;
    }
    // next-auth reports a wrong password as "CredentialsSignin"; the rate limiter's message is already a sentence.
    setError(
      !result?.error || result.error === 'CredentialsSignin'
        ? 'That email and password do not match an active account.'
        : result.error,
    );
  }

  return (
    <form onSubmit={onSubmit} className="mt-4 flex flex-col gap-3">
      <label className="flex flex-col text-sm">
        Email
        <input
          name="email"
          type="email"
          autoComplete="username"
          required
          className="mt-1 rounded border border-gray-300 px-2 py-1"
        />
      </label>
      <label className="flex flex-col text-sm">
        Password
        <input
          name="password"
          type="password"
          autoComplete="current-password"
          required
          className="mt-1 rounded border border-gray-300 px-2 py-1"
        />
      </label>
      {error && (
        <p role="alert" data-testid="signin-error" className="text-sm text-red-700">
          {error}
        </p>
      )}
      <button
        type="submit"
        disabled={pending}
        className="rounded bg-gray-900 px-3 py-1.5 text-white disabled:opacity-50"
      >
        {pending ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
