import { NextResponse, type NextRequest } from 'next/server';
import { contentSecurityPolicy } from '@/lib/http/security-headers.mjs';
import {
  declaredLengthOver,
  describeLimit,
  originRefusal,
  SERVER_ACTION_BODY_MAX_BYTES,
} from '@/lib/http/request-guard';

const SESSION_COOKIES = ['next-auth.session-token', '__Secure-next-auth.session-token'];

function refuse(status: number, message: string): NextResponse {
  return new NextResponse(message, { status, headers: { 'content-type': 'text/plain; charset=utf-8' } });
}

/**
 * Server actions are POSTs to a page with a Next-Action header. Next answers a body over its
 * limit with a 500 (its action handler has a TODO for 413) and lets a request without an Origin
 * through; both are refused here first, with the status and a sentence. runAction checks the
 * origin again: this is an early answer, not the check.
 */
function refuseServerAction(request: NextRequest): NextResponse | null {
  if (request.method !== 'POST' || !request.headers.has('next-action')) return null;
  const refusal = originRefusal(request.headers, { requireOrigin: true });
  if (refusal) return refuse(403, refusal);
  if (declaredLengthOver(request.headers, SERVER_ACTION_BODY_MAX_BYTES) !== null) {
    return refuse(
      413,
      `The form is larger than ${describeLimit(SERVER_ACTION_BODY_MAX_BYTES)}, the most a form here accepts; files go through the import page.`,
    );
  }
  return null;
}

/** A fresh nonce per page request, for its Content-Security-Policy (see lib/http/security-headers). */
function withContentSecurityPolicy(requestHeaders: Headers): NextResponse {
  const nonce = btoa(crypto.randomUUID());
  const policy = contentSecurityPolicy({ nonce, dev: process.env.NODE_ENV === 'development' });
  // On the request, so Next puts the nonce on its scripts; on the response, for the browser.
  requestHeaders.set('content-security-policy', policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set('content-security-policy', policy);
  return response;
}

/**
 * Pages only. Refuses bad server actions early (above), gives each page its CSP nonce, and, as a
 * convenience only, sends visitors without a session cookie to the sign-in page. It is never the
 * check; every page, route handler and server action verifies the session itself.
 */
export function proxy(request: NextRequest) {
  const refused = refuseServerAction(request);
  if (refused) return refused;
  const requestHeaders = new Headers(request.headers);
  const { pathname } = request.nextUrl;
  if (pathname === '/signin' || SESSION_COOKIES.some((name) => request.cookies.has(name))) {
    // The 403 page (app/forbidden.tsx) names the page's permission from its path; set here,
    // replacing anything a client sent under that name.
    requestHeaders.set('x-loupe-pathname', pathname);
    return withContentSecurityPolicy(requestHeaders);
  }
  const url = new URL('/signin', request.url);
  url.searchParams.set('callbackUrl', pathname + request.nextUrl.search);
  return NextResponse.redirect(url);
}

export const config = {
  // Pages only: the API answers 401 JSON itself, and assets and health stay public.
  matcher: ['/((?!api/|_next/|favicon.ico|icon.svg).*)'],
};
