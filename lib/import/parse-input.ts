import type { z } from 'zod';
import { badInput } from '@/lib/errors';
import { describeZodError } from '@/lib/validate';

/** zod at the entry point, failing as a `bad_input` AppError with the first issue's path. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badInput(describeZodError(parsed.error, { unnamed: 'input' }));
  return parsed.data;
}
