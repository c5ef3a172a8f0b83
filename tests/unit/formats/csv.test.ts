import { describe, expect, it } from 'vitest';
import { parseCsv } from '@/lib/formats/csv';

const HEADER = ['label', ...Array.from({ length: 784 }, (_, i) => `pixel${i + 1}`)].join(',');

function row(label: number | string | null, fill = (i: number) => i % 256): string {
  const pixels = Array.from({ length: 784 }, (_, i) => fill(i));
  return (label === null ? pixels : [label, ...pixels]).join(',');
}

function withPixel(label: number, index: number, value: string): string {
  const fields = row(label).split(',');
  fields[index + 1] = value;
  return fields.join(',');
}

describe('parseCsv', () => {
  it('reads a Kaggle file with a header row, CRLF and a trailing newline', () => {
    const text = [HEADER, row(9), row(0, () => 7)].join('\r\n') + '\r\n';
    const parsed = parseCsv(text, 'fashion.csv');
    expect(parsed.count).toBe(2);
    expect([...parsed.labels!]).toEqual([9, 0]);
    expect(parsed.pixels.length).toBe(2 * 784);
    expect(parsed.pixels[300]).toBe(300 % 256);
    expect(parsed.pixels[784 + 100]).toBe(7);
  });

  it('reads labelled rows without a header', () => {
    const parsed = parseCsv(`${row(3)}\n${row(4)}`, 'f.csv');
    expect([...parsed.labels!]).toEqual([3, 4]);
  });

  it('reads 784 columns as unlabelled pixels', () => {
    const parsed = parseCsv(`${row(null, () => 255)}\n${row(null, () => 1)}\n`, 'f.csv');
    expect(parsed.labels).toBeNull();
    expect(parsed.count).toBe(2);
    expect(parsed.pixels[0]).toBe(255);
    expect(parsed.pixels[784]).toBe(1);
  });

  it('rejects an empty file and a header-only file', () => {
    expect(() => parseCsv('', 'e.csv')).toThrow('e.csv: the file is empty');
    expect(() => parseCsv('\r\n\n', 'e.csv')).toThrow('e.csv: the file is empty');
    expect(() => parseCsv(`${HEADER}\n`, 'h.csv')).toThrow('h.csv: the file has a header row but no data rows');
  });

  it('rejects a file whose column count is neither 784 nor 785', () => {
    expect(() => parseCsv('1,2,3\n', 'small.csv')).toThrow(/small\.csv: line 1 has 3 columns; expected 785/);
  });

  it('rejects a row whose column count differs from the rest, with its line number', () => {
    const text = [HEADER, row(1), row(2).split(',').slice(0, 700).join(',')].join('\n');
    expect(() => parseCsv(text, 'f.csv')).toThrow("f.csv: line 3 has 700 columns; the file's rows have 785");
  });

  it('rejects a non-numeric pixel naming line and column', () => {
    const text = [HEADER, row(1), withPixel(1, 9, 'abc')].join('\n');
    expect(() => parseCsv(text, 'f.csv')).toThrow('f.csv: line 3, column 11 (pixel10): "abc" is not a number');
  });

  it('rejects fractional and empty values', () => {
    expect(() => parseCsv(withPixel(1, 0, '12.5'), 'f.csv')).toThrow('line 1, column 2: "12.5" is not a whole number');
    expect(() => parseCsv(withPixel(1, 0, ''), 'f.csv')).toThrow('line 1, column 2: the value is empty');
    // Exporters that write floats are fine when the value is whole.
    expect(parseCsv(withPixel(1, 0, '12.0'), 'f.csv').pixels[0]).toBe(12);
  });

  it('rejects pixel values out of 0-255', () => {
    expect(() => parseCsv(withPixel(1, 783, '256'), 'f.csv')).toThrow(
      'f.csv: line 1, column 785: pixel value 256 is out of range 0-255',
    );
    expect(() => parseCsv(`${row(1)}\n${withPixel(1, 0, '-1')}`, 'f.csv')).toThrow(
      'f.csv: line 2, column 2: pixel value -1 is out of range 0-255',
    );
  });

  it('checks labels against numClasses', () => {
    const text = [HEADER, row(9), row(10)].join('\n');
    expect(() => parseCsv(text, 'f.csv', { numClasses: 10 })).toThrow(
      'f.csv: line 3, column 1 (label): label 10 is out of range 0-9',
    );
    expect(parseCsv(text, 'f.csv').labels![1]).toBe(10);
    expect(() => parseCsv(row(-2), 'f.csv')).toThrow('label -2 is out of range 0-255');
    // A bad label in the first row is a data error, not a header to skip.
    expect(() => parseCsv(`${row('shirt')}\n${row(1)}`, 'f.csv')).toThrow('line 1, column 1: "shirt" is not a number');
  });
});

describe('parseCsv header layouts', () => {
  const PIXEL_NAMES = Array.from({ length: 784 }, (_, i) => `pixel${i + 1}`);

  it('refuses a header that names a label column but has only 784 columns, instead of dropping the labels', () => {
    // label,pixel1..pixel783: 784 columns, which used to be read as 784 unlabelled pixels.
    const header = ['label', ...PIXEL_NAMES.slice(0, 783)].join(',');
    const text = [header, row(null), row(null)].join('\n');
    expect(() => parseCsv(text, 'short.csv')).toThrow(
      'short.csv: line 1 (the header row) names a label column (label) and 783 pixel columns; expected label + 784 pixel columns (785 in all), or 784 pixel columns without a label.',
    );
  });

  it('refuses a header of pixel names only with 785 columns', () => {
    const header = [...PIXEL_NAMES, 'pixel785'].join(',');
    const text = [header, row(1)].join('\n');
    expect(() => parseCsv(text, 'wide.csv')).toThrow(
      'wide.csv: line 1 (the header row) has 785 pixel columns and no label column; expected label + 784 pixel columns (785 in all), or 784 pixel columns without a label.',
    );
  });

  it('refuses a header with a column that is neither the label nor a pixel, naming it', () => {
    const header = ['label', ...PIXEL_NAMES.slice(0, 783), 'comment'].join(',');
    const text = [header, row(1)].join('\n');
    expect(() => parseCsv(text, 'odd.csv')).toThrow(
      'odd.csv: line 1 (the header row), column 785 ("comment") is not a pixel column (pixel1, pixel2, ...); expected label + 784 pixel columns (785 in all), or 784 pixel columns without a label.',
    );
  });

  it('reads a pixels-only header and a 0-based label header (the MNIST Kaggle layout)', () => {
    const unlabelled = parseCsv([PIXEL_NAMES.join(','), row(null, () => 3)].join('\n'), 'p.csv');
    expect(unlabelled.labels).toBeNull();
    expect(unlabelled.pixels[783]).toBe(3);
    const zeroBased = ['label', ...Array.from({ length: 784 }, (_, i) => `pixel${i}`)].join(',');
    const labelled = parseCsv([zeroBased, row(7)].join('\n'), 'm.csv');
    expect([...labelled.labels!]).toEqual([7]);
  });
});
