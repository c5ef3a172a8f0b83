import NextAuth from 'next-auth';
import { getAuthOptions } from '@/lib/auth/next-auth-options';

export const dynamic = 'force-dynamic';

const handler = (request: Request, context: { params: Promise<{ nextauth: string[] }> }) =>
  NextAuth(getAuthOptions())(request, context);

export { handler as GET, handler as POST };
