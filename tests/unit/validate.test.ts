import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { isAppError } from '@/lib/errors';
import { describeZodError, parseInput } from '@/lib/validate';

const Flags = z.object({ catalogue: z.object({ slug: z.string() }), epochs: z.number().int() });

function zodErrorOf(schema: z.ZodType, value: unknown): z.ZodError {
  const parsed = schema.safeParse(value);
  if (parsed.success) throw new Error('expected the value to fail');
  return parsed.error;
}

describe('describeZodError', () => {
  it('names the first issue only, by its dotted path', () => {
    const error = zodErrorOf(Flags, { catalogue: { slug: 3 }, epochs: 1.5 });
    expect(error.issues).toHaveLength(2);
    expect(describeZodError(error)).toMatch(/^catalogue\.slug: .*string/i);
  });

  it('puts the CLI flag prefix before the path', () => {
    const error = zodErrorOf(Flags, { catalogue: { slug: 'x' }, epochs: 1.5 });
    expect(describeZodError(error, { pathPrefix: '--' })).toMatch(/^--epochs: /);
  });

  it('gives a pathless issue the unnamed label, or the message alone', () => {
    const error = zodErrorOf(z.number(), 'seven');
    expect(describeZodError(error, { unnamed: 'input' })).toMatch(/^input: /);
    expect(describeZodError(error)).toBe(error.issues[0]?.message);
  });

  it('falls back to a sentence when there is no issue', () => {
    expect(describeZodError(new z.ZodError([]))).toBe('The request is not valid.');
    expect(describeZodError(new z.ZodError([]), { fallback: 'invalid arguments' })).toBe('invalid arguments');
  });
});

describe('parseInput', () => {
  it('fails as bad_input with the formatted first issue', () => {
    let caught: unknown;
    try {
      parseInput(Flags, { catalogue: {}, epochs: 2 });
    } catch (error) {
      caught = error;
    }
    expect(isAppError(caught) && caught.code).toBe('bad_input');
    expect((caught as Error).message).toMatch(/^catalogue\.slug: /);
  });

  it('returns the parsed value when it is valid', () => {
    expect(parseInput(Flags, { catalogue: { slug: 'a' }, epochs: 2 })).toEqual({ catalogue: { slug: 'a' }, epochs: 2 });
  });
});
