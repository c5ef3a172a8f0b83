/**
 * Sign-in attempt limits, in memory: a sliding window of failure times per account (the
 * email, known or not, so the limit reveals nothing) and per client address. In memory is
 * enough for Loupe's one web process; a restart forgets, which only ever lets people in.
 */
export interface SignInLimits {
  /** Failures per account inside the window before that account is refused. */
  perAccount: number;
  /** Failures per client address inside the window, across all accounts. */
  perAddress: number;
  windowMs: number;
}

export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = { perAccount: 5, perAddress: 20, windowMs: 15 * 60_000 };

export type LimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface AttemptKey {
  email: string;
  /** The client's address (IP); null when the server cannot tell. */
  address: string | null;
  /** Milliseconds since the epoch; defaults to Date.now() (tests inject a clock). */
  now?: number;
}

/** Past this many tracked keys, a check sweeps out keys with no failure left in the window. */
const SWEEP_AT_KEYS = 10_000;

export class SignInLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly limits: SignInLimits = DEFAULT_SIGN_IN_LIMITS) {}

  /** Ask before checking the password; a refused attempt is not counted again. */
  check(key: AttemptKey): LimitDecision {
    const now = key.now ?? Date.now();
    if (this.failures.size > SWEEP_AT_KEYS) this.sweep(now);
    let retryAfterMs = 0;
    for (const [name, limit] of this.keysOf(key)) {
      const times = this.recent(name, now);
      if (times.length >= limit) {
        // The attempt is allowed again once enough of the oldest failures leave the window.
        const freeingFailure = times[times.length - limit]!;
        retryAfterMs = Math.max(retryAfterMs, freeingFailure + this.limits.windowMs - now);
      }
    }
    return retryAfterMs > 0 ? { allowed: false, retryAfterSeconds: Math.ceil(retryAfterMs / 1000) } : { allowed: true };
  }

  recordFailure(key: AttemptKey): void {
    const now = key.now ?? Date.now();
    // Only the newest `limit` failures decide a refusal: keep no more, whatever callers do.
    for (const [name, limit] of this.keysOf(key))
      this.failures.set(name, [...this.recent(name, now), now].slice(-limit));
  }

  /** A correct password clears the account's failures (not the address's: one good account must not unlock guessing others). */
  recordSuccess(key: Pick<AttemptKey, 'email'>): void {
    this.failures.delete(accountKey(key.email));
  }

  private keysOf(key: AttemptKey): [string, number][] {
    const keys: [string, number][] = [[accountKey(key.email), this.limits.perAccount]];
    if (key.address) keys.push([`address:${key.address}`, this.limits.perAddress]);
    return keys;
  }

  private recent(name: string, now: number): number[] {
    const cutoff = now - this.limits.windowMs;
    const times = (this.failures.get(name) ?? []).filter((t) => t > cutoff);
    if (times.length === 0) this.failures.delete(name);
    else this.failures.set(name, times);
    return times;
  }

  private sweep(now: number): void {
    for (const name of [...this.failures.keys()]) this.recent(name, now);
  }
}

function accountKey(email: string): string {
  return `account:${email.trim().toLowerCase()}`;
}

// On globalThis: Next's dev server re-evaluates modules, which would reset a module variable.
const globalForLimiter = globalThis as typeof globalThis & { __loupeSignInLimiter?: SignInLimiter };

/** The process's one sign-in limiter. */
export function getSignInLimiter(): SignInLimiter {
  globalForLimiter.__loupeSignInLimiter ??= new SignInLimiter();
  return globalForLimiter.__loupeSignInLimiter;
}
