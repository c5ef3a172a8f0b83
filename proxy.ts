import { NextResponse, type NextRequest } from 'next/server';

const SESSION_COOKIES = ['next-auth.session-token', '__Secure-next-auth.session-token'];

/**
 * A convenience only: sends visitors without a session cookie to the sign-in page. It is
 * never the check; every page, route handler and server action verifies the session itself.
 */
export function proxy(request: NextRequest) {
  if (SESSION_COOKIES.some((name) => request.cookies.has(name))) return NextResponse.next();
  const url = new URL('/signin', request.url);
  url.searchParams.set('callbackUrl', request.nextUrl.pathname + request.nextUrl.search);
  return NextResponse.redirect(url);
}

export const config = {
  // Pages only: the API answers 401 JSON itself, and sign-in, assets and health stay public.
  matcher: ['/((?!api/|signin|_next/|favicon.ico).*)'],
};
