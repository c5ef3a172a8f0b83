import { describe, expect, it } from 'vitest';
import { formJson, formNumber, formOptionalNumber, formString } from '@/lib/http/form-fields';

function formOf(fields: Record<string, string | Blob>): FormData {
  const form = new FormData();
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  return form;
}

describe('server action form fields', () => {
  const form = formOf({
    name: 'Ada',
    threshold: '0.85',
    blank: '  ',
    word: 'seven',
    expected: '{"threshold":0.9}',
    broken: '{not json',
    file: new Blob(['x']),
  });

  it('reads text, and a missing field or a file as empty', () => {
    expect(formString(form, 'name')).toBe('Ada');
    expect(formString(form, 'missing')).toBe('');
    expect(formString(form, 'file')).toBe('');
  });

  it('reads numbers, and empty or non-numeric values as NaN for lib/ to refuse', () => {
    expect(formNumber(form, 'threshold')).toBe(0.85);
    expect(formNumber(form, 'blank')).toBeNaN();
    expect(formNumber(form, 'word')).toBeNaN();
    expect(formNumber(form, 'missing')).toBeNaN();
  });

  it('reads an absent optional number as undefined, a present bad one as NaN', () => {
    expect(formOptionalNumber(form, 'missing')).toBeUndefined();
    expect(formOptionalNumber(form, 'threshold')).toBe(0.85);
    expect(formOptionalNumber(form, 'blank')).toBeNaN();
  });

  it('reads JSON, an absent field as undefined and unreadable JSON as NaN', () => {
    expect(formJson(form, 'expected')).toEqual({ threshold: 0.9 });
    expect(formJson(form, 'missing')).toBeUndefined();
    expect(formJson(form, 'broken')).toBeNaN();
  });
});
