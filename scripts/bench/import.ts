import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDb } from '@/db/client';
import { migrateDb } from '@/db/migrate';
import { readIdxSplit } from '@/lib/formats/idx';
import { ensureCatalogue, importCsv, importIdx } from '@/lib/import';
import { FASHION_MNIST_CLASSES, PIXELS_PER_IMAGE } from '@/lib/ml/classes';
import { DEMO_CATALOGUE, demoImagesPath } from '@/lib/seed';

/**
 * `npm run bench -- import`: import throughput for the two bulk formats, through the same
 * lib/import functions as `npm run import` and the import page, into a fresh temp database
 * each: the 10,000 Fashion-MNIST t10k images as gzipped IDX, and the same images (or the first
 * `csvRows`) as a Kaggle-layout CSV. Each import also runs a second time, which must add
 * nothing (the re-import check costs a read of the file and one lookup per row).
 */
export interface ImportBenchFigures {
  rows: number;
  bytes: number;
  seconds: number;
  itemsPerSecond: number;
  reimportSeconds: number;
  reimportInserted: number;
}

export interface ImportBenchReport {
  machine: { cpuModel: string; cores: number; node: string; loadAverage1m: number };
  idx: ImportBenchFigures & { file: string };
  csv: ImportBenchFigures;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

async function timeImport(
  dir: string,
  name: string,
  run: (db: ReturnType<typeof openDb>) => Promise<{ total: number; inserted: number }>,
  bytes: number,
): Promise<ImportBenchFigures> {
  const db = openDb(path.join(dir, `${name}.db`));
  await migrateDb(db);
  await ensureCatalogue(db, DEMO_CATALOGUE);
  const started = performance.now();
  const first = await run(db);
  const seconds = (performance.now() - started) / 1000;
  const again = performance.now();
  const second = await run(db);
  const reimportSeconds = (performance.now() - again) / 1000;
  db.$client.close();
  return {
    rows: first.inserted,
    bytes,
    seconds: round(seconds),
    itemsPerSecond: Math.round(first.inserted / seconds),
    reimportSeconds: round(reimportSeconds),
    reimportInserted: second.inserted,
  };
}

export async function runImportBench(options: {
  csvRows?: number;
  log: (line: string) => void;
}): Promise<ImportBenchReport> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'loupe-bench-import-'));
  try {
    const imagesPath = demoImagesPath();
    const labelsPath = imagesPath.replace('images-idx3', 'labels-idx1');
    options.log(`IDX: ${imagesPath}`);
    const idx = await timeImport(
      dir,
      'idx',
      (db) => importIdx(db, { catalogueSlug: DEMO_CATALOGUE.slug, imagesPath, labelsPath }),
      fs.statSync(imagesPath).size + fs.statSync(labelsPath).size,
    );

    const { images, labels } = readIdxSplit(path.dirname(imagesPath), 't10k');
    const rows = Math.min(options.csvRows ?? images.count, images.count);
    const lines = [['label', ...Array.from({ length: PIXELS_PER_IMAGE }, (_, i) => `pixel${i + 1}`)].join(',')];
    for (let r = 0; r < rows; r++)
      lines.push(
        `${labels[r]! % FASHION_MNIST_CLASSES.length},${Array.from(images.pixels.subarray(r * PIXELS_PER_IMAGE, (r + 1) * PIXELS_PER_IMAGE)).join(',')}`,
      );
    const csvPath = path.join(dir, 'fashion-mnist_test.csv');
    fs.writeFileSync(csvPath, lines.join('\n') + '\n');
    options.log(`CSV: ${rows} rows, ${fs.statSync(csvPath).size} bytes`);
    const csv = await timeImport(
      dir,
      'csv',
      (db) => importCsv(db, { catalogueSlug: DEMO_CATALOGUE.slug, path: csvPath }),
      fs.statSync(csvPath).size,
    );

    const cpus = os.cpus();
    return {
      machine: {
        cpuModel: cpus[0]?.model.trim() ?? 'unknown',
        cores: cpus.length,
        node: process.version,
        loadAverage1m: round(os.loadavg()[0] ?? 0),
      },
      idx: { ...idx, file: path.basename(imagesPath) },
      csv,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
