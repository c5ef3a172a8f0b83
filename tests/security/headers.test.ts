import { NextRequest } from 'next/server';
import { describe, expect, it } from 'vitest';
import nextConfig from '@/next.config.mjs';
import { proxy } from '@/proxy';

function page(pathname: string, cookie = true): NextRequest {
  return new NextRequest(`http://localhost:3000${pathname}`, {
    headers: cookie ? { cookie: 'next-auth.session-token=x' } : {},
  });
}

describe('security headers', () => {
  it('every response gets CSP, frame, sniffing and referrer headers (next.config.mjs)', async () => {
    const rules = await nextConfig.headers!();
    const all = rules.find((rule) => rule.source === '/:path*')!;
    const headers = Object.fromEntries(all.headers.map((h) => [h.key, h.value]));
    expect(headers['X-Frame-Options']).toBe('DENY');
    expect(headers['X-Content-Type-Options']).toBe('nosniff');
    expect(headers['Referrer-Policy']).toBe('same-origin');
    const csp = headers['Content-Security-Policy']!;
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("object-src 'none'");
    expect(csp).not.toContain('unsafe-eval');
  });

  it('pages get a fresh nonce each, on the response and on the request Next renders from', () => {
    const nonces = ['/models', '/models', '/signin'].map((pathname) => {
      const response = proxy(page(pathname, pathname !== '/signin'));
      expect(response.status, pathname).toBe(200);
      const csp = response.headers.get('content-security-policy')!;
      const nonce = /'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
      expect(nonce, csp).toBeTruthy();
      expect(csp).toContain("'strict-dynamic'");
      expect(csp).not.toContain("'unsafe-inline' 'nonce");
      // NextResponse.next({ request: { headers } }) passes overridden request headers this way.
      expect(response.headers.get('x-middleware-request-content-security-policy')).toBe(csp);
      expect(response.headers.get('x-middleware-request-x-loupe-pathname')).toBe(pathname);
      return nonce;
    });
    expect(new Set(nonces).size).toBe(3);
  });

  it('signed-out page visits still go to sign-in', () => {
    const response = proxy(page('/models', false));
    expect(response.status).toBe(307);
    expect(response.headers.get('location')).toBe('http://localhost:3000/signin?callbackUrl=%2Fmodels');
  });
});
