import { badInput } from '@/lib/errors';
import { PIXELS_PER_IMAGE } from '@/lib/ml/classes';

export interface ParsedCsv {
  count: number;
  /** count x 784 bytes, row-major. */
  pixels: Uint8Array;
  /** One per row when the file has a label column, else null. */
  labels: Uint8Array | null;
}

export interface ParseCsvOptions {
  /** Labels must be below this; without it any 0..255 label is accepted. */
  numClasses?: number;
}

const LABELLED_COLUMNS = PIXELS_PER_IMAGE + 1;
const MAX_LABEL = 255; // labels are stored one byte each

interface Line {
  text: string;
  /** 1-based, counting every line of the file, so messages match what an editor shows. */
  number: number;
}

function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  const raw = text.replace(/^\uFEFF/, '').split('\n');
  raw.forEach((line, index) => {
    const trimmed = line.endsWith('\r') ? line.slice(0, -1) : line;
    // Blank lines (a trailing newline, a gap) carry no row; skipping them keeps numbering honest.
    if (trimmed.trim() !== '') lines.push({ text: trimmed, number: index + 1 });
  });
  return lines;
}

function unquote(field: string): string {
  const trimmed = field.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"')
    ? trimmed.slice(1, -1).trim()
    : trimmed;
}

/**
 * Kaggle's header is `label,pixel1,...`. A header has no numbers in it; requiring that of
 * every field (not just the first) keeps a data row with a bad label from being taken for
 * a header and silently dropped.
 */
function isHeader(line: string): boolean {
  return line.split(',').every((field) => !/^[+-]?\d+(\.\d+)?$/.test(unquote(field)));
}

/** `pixel1`, `pixel0`, `px_12`, `p5`, `12` or `1x1` (row x column): a name that stands for a pixel. */
const PIXEL_NAME = /^((pixel|px|p)[ _-]?)?\d+$|^\d+x\d+$/i;
const LAYOUTS = `expected label + ${PIXELS_PER_IMAGE} pixel columns (${LABELLED_COLUMNS} in all), or ${PIXELS_PER_IMAGE} pixel columns without a label.`;

/**
 * The header decides the layout by its names, not only by its count: a first column that is not
 * a pixel name is the label, and then there must be 784 pixel columns after it. Deciding by the
 * count alone read `label,pixel1..pixel783` as 784 unlabelled pixels and dropped every label.
 */
function checkHeaderLayout(header: string[], where: string): void {
  const hasLabel = !PIXEL_NAME.test(header[0] ?? '');
  const firstPixel = hasLabel ? 1 : 0;
  for (let index = firstPixel; index < header.length; index++) {
    const name = header[index]!;
    if (!PIXEL_NAME.test(name)) {
      const shown = name.length > 30 ? `${name.slice(0, 30)}...` : name;
      throw badInput(
        `${where}, column ${index + 1} ("${shown}") is not a pixel column (pixel1, pixel2, ...); ${LAYOUTS}`,
      );
    }
  }
  const pixelColumns = header.length - firstPixel;
  if (pixelColumns === PIXELS_PER_IMAGE) return;
  const plural = (n: number) => `${n} pixel ${n === 1 ? 'column' : 'columns'}`;
  throw badInput(
    hasLabel
      ? `${where} names a label column (${header[0]}) and ${plural(pixelColumns)}; ${LAYOUTS}`
      : `${where} has ${plural(pixelColumns)} and no label column; ${LAYOUTS}`,
  );
}

function describeColumn(column: number, header: string[] | null): string {
  const name = header?.[column - 1];
  return name ? `column ${column} (${name})` : `column ${column}`;
}

/**
 * Parses the Kaggle Fashion-MNIST CSV layout: `label,pixel1..pixel784` or, without labels,
 * `pixel1..pixel784`. The column count of the first row decides which; every row must agree.
 * Any problem rejects the whole file with the line and column, so nothing is half-imported.
 */
export function parseCsv(text: string, source: string, options: ParseCsvOptions = {}): ParsedCsv {
  const lines = splitLines(text);
  if (lines.length === 0) throw badInput(`${source}: the file is empty; expected rows of 784 pixel values.`);

  let header: string[] | null = null;
  const headerLine = lines[0]!.number;
  if (isHeader(lines[0]!.text)) header = lines.shift()!.text.split(',').map(unquote);
  if (lines.length === 0) throw badInput(`${source}: the file has a header row but no data rows.`);

  const columns = header?.length ?? lines[0]!.text.split(',').length;
  if (header) checkHeaderLayout(header, `${source}: line ${headerLine} (the header row)`);
  else if (columns !== LABELLED_COLUMNS && columns !== PIXELS_PER_IMAGE) {
    throw badInput(
      `${source}: line ${lines[0]!.number} has ${columns} columns; expected ${LABELLED_COLUMNS} (label + 784 pixels) or ${PIXELS_PER_IMAGE} (pixels only).`,
    );
  }
  const hasLabel = columns === LABELLED_COLUMNS;
  const maxLabel = options.numClasses === undefined ? MAX_LABEL : options.numClasses - 1;

  const count = lines.length;
  const pixels = new Uint8Array(count * PIXELS_PER_IMAGE);
  const labels = hasLabel ? new Uint8Array(count) : null;
  lines.forEach((line, row) => {
    const fields = line.text.split(',');
    if (fields.length !== columns) {
      throw badInput(`${source}: line ${line.number} has ${fields.length} columns; the file's rows have ${columns}.`);
    }
    fields.forEach((field, index) => {
      const column = index + 1;
      const isLabel = hasLabel && index === 0;
      const value = parseWholeNumber(field);
      if (typeof value === 'string') {
        throw badInput(`${source}: line ${line.number}, ${describeColumn(column, header)}: ${value}.`);
      }
      if (isLabel) {
        if (value < 0 || value > maxLabel) {
          throw badInput(
            `${source}: line ${line.number}, ${describeColumn(column, header)}: label ${value} is out of range 0-${maxLabel}.`,
          );
        }
        labels![row] = value;
        return;
      }
      if (value < 0 || value > 255) {
        throw badInput(
          `${source}: line ${line.number}, ${describeColumn(column, header)}: pixel value ${value} is out of range 0-255.`,
        );
      }
      pixels[row * PIXELS_PER_IMAGE + index - (hasLabel ? 1 : 0)] = value;
    });
  });
  return { count, pixels, labels };
}

/** The integer in `field`, or a phrase saying why it is not one. */
function parseWholeNumber(field: string): number | string {
  // Fast path for the common case (a bare 1-3 digit number): a 60k-row file has 47M fields.
  if (field.length > 0 && field.length <= 3) {
    let value = 0;
    let i = 0;
    for (; i < field.length; i++) {
      const digit = field.charCodeAt(i) - 48;
      if (digit < 0 || digit > 9) break;
      value = value * 10 + digit;
    }
    if (i === field.length) return value;
  }
  const text = unquote(field);
  if (text === '') return 'the value is empty';
  if (/^[+-]?\d+$/.test(text)) return Number(text);
  // "12.0" is harmless (some exporters write floats); "12.5" is not a pixel value.
  if (/^[+-]?\d+\.0*$/.test(text)) return Number.parseInt(text, 10);
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) return `"${text}" is not a whole number`;
  return `"${text.length > 20 ? `${text.slice(0, 20)}...` : text}" is not a number`;
}
