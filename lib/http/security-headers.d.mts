/** Types of ./security-headers.mjs (plain JavaScript so that next.config.mjs can load it). */
export function contentSecurityPolicy(options?: { nonce?: string; dev?: boolean }): string;
export function securityHeaders(options?: { dev?: boolean }): { key: string; value: string }[];
