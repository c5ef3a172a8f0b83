import NextAuth from 'next-auth';
import { NextRequest } from 'next/server';
import { getAuthOptions } from '@/lib/auth/next-auth-options';
import { errorResponse } from '@/lib/http/api-route';
import { assertSameOrigin, readBodyWithLimit, SIGN_IN_BODY_MAX_BYTES } from '@/lib/http/request-guard';

export const dynamic = 'force-dynamic';

type Context = { params: Promise<{ nextauth: string[] }> };

/**
 * next-auth's routes behind two checks of Loupe's own: a POST (sign-in, sign-out) must come
 * from Loupe's origin, and its body is read within SIGN_IN_BODY_MAX_BYTES before next-auth
 * parses it (a 100 MB password took 14 s and 2 GB), answering 413 with a sentence past it.
 */
async function handler(request: NextRequest, context: Context): Promise<Response> {
  if (request.method === 'POST') {
    try {
      assertSameOrigin(request.headers);
      const body = await readBodyWithLimit(request, { maxBytes: SIGN_IN_BODY_MAX_BYTES, what: 'sign-in request' });
      request = new NextRequest(request.url, { method: 'POST', headers: request.headers, body });
    } catch (error) {
      return errorResponse(error);
    }
  }
  return NextAuth(getAuthOptions())(request, context);
}

export { handler as GET, handler as POST };
