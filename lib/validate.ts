import type { z } from 'zod';
import { badInput } from '@/lib/errors';

export interface DescribeZodErrorOptions {
  /** Put before the field path: `--` on the command line, where fields are flags. */
  pathPrefix?: string;
  /** The name to give an issue with no path (the whole value); none: the message alone. */
  unnamed?: string;
  /** The sentence when the error carries no issue at all. */
  fallback?: string;
}

/**
 * One sentence for a zod failure: its first issue as `field.path: message`. The first issue
 * only, so that a person fixes one thing at a time; the web, the CLI and the environment
 * check differ only in how they name the field.
 */
export function describeZodError(error: z.ZodError, options: DescribeZodErrorOptions = {}): string {
  const issue = error.issues[0];
  if (!issue) return options.fallback ?? 'The request is not valid.';
  const path = issue.path.map(String).join('.');
  const where = path ? `${options.pathPrefix ?? ''}${path}: ` : options.unnamed ? `${options.unnamed}: ` : '';
  return `${where}${issue.message}`;
}

/** zod at the entry point, failing as a `bad_input` AppError with the first issue's path. */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badInput(describeZodError(parsed.error, { unnamed: 'input' }));
  return parsed.data;
}
