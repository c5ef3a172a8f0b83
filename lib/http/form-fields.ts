/**
 * Fields of a server action's FormData, read without judging them: lib/ validates with zod and
 * words the refusal. An empty or non-numeric number field therefore becomes NaN, never 0.
 */

/** A text field; absent or a file reads as ''. */
export function formString(form: FormData, key: string): string {
  const value = form.get(key);
  return typeof value === 'string' ? value : '';
}

/** A number field; empty, absent or not a number reads as NaN, which lib/ refuses with its sentence. */
export function formNumber(form: FormData, key: string): number {
  const value = form.get(key);
  return typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
}

/** A hidden number field the page may not send (an older page): absent means undefined, "no check". */
export function formOptionalNumber(form: FormData, key: string): number | undefined {
  return form.get(key) === null ? undefined : formNumber(form, key);
}

/** A hidden JSON field (e.g. the values a form started from); unreadable JSON reads as NaN for lib/ to refuse. */
export function formJson(form: FormData, key: string): unknown {
  const value = form.get(key);
  if (typeof value !== 'string') return undefined;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return Number.NaN;
  }
}
