import type { z } from 'zod';
import { badInput } from '@/lib/errors';

/** zod at the entry point, failing as a `bad_input` AppError with the first issue's path. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badInput(`${issue?.path.join('.') || 'input'}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
