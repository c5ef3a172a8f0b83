/**
 * Sign-in attempt limits, in memory. Failures are counted per (account, address) pair and per
 * address, and past a few free failures each further attempt must wait a delay that doubles
 * with every failure. There is no lock on an account as such: failures against the admin's
 * email from one address slow that address down, never the admin signing in from elsewhere
 * (a per-account lock let anyone lock the admin out with 5 wrong passwords). Addresses are
 * what the server vouches for (lib/auth/client-address.ts), not what a client claims.
 * In memory is enough for Loupe's one web process; a restart forgets, which only lets people in.
 */
export interface SignInLimits {
  /** Failures of one account from one address inside the window before delays start. */
  freePerPair: number;
  /** Failures from one address, across accounts, before delays start (one address guessing many accounts). */
  freePerAddress: number;
  /** The first delay; each further failure doubles it, up to maxDelayMs. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Failures older than this are forgotten. */
  windowMs: number;
}

export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = {
  freePerPair: 3,
  freePerAddress: 20,
  baseDelayMs: 2_000,
  maxDelayMs: 15 * 60_000,
  windowMs: 60 * 60_000,
};

export type LimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

export interface AttemptKey {
  email: string;
  /** The client's address as the server vouches for it; null when the server cannot tell. */
  address: string | null;
  /** Milliseconds since the epoch; defaults to Date.now() (tests inject a clock). */
  now?: number;
}

/** Past this many tracked keys, a check sweeps out keys with no failure left in the window. */
const SWEEP_AT_KEYS = 10_000;
/** Failures kept per key: enough to reach the longest delay. */
const MAX_TRACKED_FAILURES = 64;

export class SignInLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly limits: SignInLimits = DEFAULT_SIGN_IN_LIMITS) {}

  /** Ask before checking the password; a refused attempt is not counted again. */
  check(key: AttemptKey): LimitDecision {
    const now = key.now ?? Date.now();
    if (this.failures.size > SWEEP_AT_KEYS) this.sweep(now);
    let retryAfterMs = 0;
    for (const [name, free] of this.keysOf(key)) {
      const times = this.recent(name, now);
      if (times.length < free) continue;
      const delay = Math.min(this.limits.maxDelayMs, this.limits.baseDelayMs * 2 ** (times.length - free));
      retryAfterMs = Math.max(retryAfterMs, times[times.length - 1]! + delay - now);
    }
    return retryAfterMs > 0 ? { allowed: false, retryAfterSeconds: Math.ceil(retryAfterMs / 1000) } : { allowed: true };
  }

  recordFailure(key: AttemptKey): void {
    const now = key.now ?? Date.now();
    for (const [name] of this.keysOf(key))
      this.failures.set(name, [...this.recent(name, now), now].slice(-MAX_TRACKED_FAILURES));
  }

  /** A correct password clears the pair's failures (not the address's: one good account must not unlock guessing others). */
  recordSuccess(key: Pick<AttemptKey, 'email' | 'address'>): void {
    this.failures.delete(pairKey(key));
  }

  private keysOf(key: AttemptKey): [string, number][] {
    return [
      [pairKey(key), this.limits.freePerPair],
      [`address:${key.address ?? 'unknown'}`, this.limits.freePerAddress],
    ];
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

function pairKey(key: Pick<AttemptKey, 'email' | 'address'>): string {
  return `pair:${key.email.trim().toLowerCase()}|${key.address ?? 'unknown'}`;
}

/** The sentence a refused sign-in shows. */
export function describeRetry(retryAfterSeconds: number): string {
  const wait =
    retryAfterSeconds < 120 ? `${retryAfterSeconds} second(s)` : `${Math.ceil(retryAfterSeconds / 60)} minute(s)`;
  return `Too many failed sign-ins from this address. Try again in ${wait}.`;
}

// On globalThis: Next's dev server re-evaluates modules, which would reset a module variable.
const globalForLimiter = globalThis as typeof globalThis & { __loupeSignInLimiter?: SignInLimiter };

/** The process's one sign-in limiter. */
export function getSignInLimiter(): SignInLimiter {
  globalForLimiter.__loupeSignInLimiter ??= new SignInLimiter();
  return globalForLimiter.__loupeSignInLimiter;
}
