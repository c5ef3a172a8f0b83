import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { badInput } from '@/lib/errors';
import type { FoldOutcome } from '@/lib/ml/cross-validate';
import type { LabelledImages } from '@/lib/ml/train';

/**
 * Where a cross-validation longer than a session keeps its finished folds: one file per fold
 * (its figures and held-out logits) beside `run.json`, what the run is (recipe, folds, images,
 * starting weights). Running the same command again with the same folder trains only the folds
 * that are missing; a folder that holds another run's folds is refused, never mixed in.
 */
export interface FoldStore {
  finished: FoldOutcome[];
  save(outcome: FoldOutcome): void;
}

const RUN_FILE = 'run.json';

const EpochReportSchema = z.object({}).passthrough();
const FoldFile = z.object({
  fold: z.number().int().min(1),
  trainCount: z.number().int().min(1),
  heldOutCount: z.number().int().min(1),
  accuracy: z.number().min(0).max(1),
  history: z.array(EpochReportSchema).min(1),
  /** The held-out logits as little-endian float32 bytes, base64: exact, and a third of JSON's size. */
  logits: z.string(),
});

/**
 * What makes two runs the same: `identity` (the recipe and fold settings, as JSON) plus digests
 * of the images and of the starting weights, so a changed data set or a re-shipped model under
 * the same path is noticed.
 */
export function runIdentity(identity: Record<string, unknown>, data: LabelledImages, initFrom?: string) {
  const images = createHash('sha256')
    .update(new Uint8Array(data.pixels.buffer, data.pixels.byteOffset, data.pixels.byteLength))
    .update(new Uint8Array(data.labels.buffer, data.labels.byteOffset, data.labels.byteLength))
    .digest('hex');
  return { ...identity, imagesSha256: images, ...(initFrom && { initFromSha256: weightsDigest(initFrom) }) };
}

function weightsDigest(dir: string): string {
  const hash = createHash('sha256');
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f === 'model.json' || f.endsWith('.bin')) : [];
  if (files.length === 0) throw badInput(`${dir} holds no saved model to start from: name a model folder.`);
  for (const file of files.sort()) hash.update(file).update(fs.readFileSync(path.join(dir, file)));
  return hash.digest('hex');
}

export function openFoldStore(dir: string, identity: Record<string, unknown>): FoldStore {
  fs.mkdirSync(dir, { recursive: true });
  const runPath = path.join(dir, RUN_FILE);
  const wanted = `${JSON.stringify(identity, null, 2)}\n`;
  const foldFiles = fs.readdirSync(dir).filter((f) => /^fold-\d+\.json$/.test(f));
  // A run stopped before its first fold finished kept nothing: another command may take the folder.
  if (fs.existsSync(runPath) && foldFiles.length > 0) {
    const held = fs.readFileSync(runPath, 'utf8');
    if (held !== wanted) {
      const differing = differingKeys(JSON.parse(held), identity);
      throw badInput(
        `${dir} holds the folds of another run (it differs in ${differing.join(', ') || 'its settings'}): run the command that made it, or name a new --state-dir.`,
      );
    }
  } else writeAtomically(runPath, wanted);
  const finished = foldFiles.map((f) => readFold(path.join(dir, f))).sort((a, b) => a.fold - b.fold);
  return {
    finished,
    save(outcome) {
      const { logits, ...figures } = outcome;
      const bytes = Buffer.from(logits.buffer, logits.byteOffset, logits.byteLength);
      writeAtomically(
        path.join(dir, `fold-${outcome.fold}.json`),
        `${JSON.stringify({ ...figures, logits: bytes.toString('base64') })}\n`,
      );
    },
  };
}

function readFold(file: string): FoldOutcome {
  let parsed: z.infer<typeof FoldFile>;
  try {
    parsed = FoldFile.parse(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch {
    throw badInput(`${file} is not a finished fold this command wrote: delete it and its fold is trained again.`);
  }
  const bytes = Buffer.from(parsed.logits, 'base64');
  if (bytes.length % 4 !== 0 || `${path.basename(file)}` !== `fold-${parsed.fold}.json`)
    throw badInput(`${file} is damaged: delete it and its fold is trained again.`);
  const logits = new Float32Array(bytes.length / 4);
  new Uint8Array(logits.buffer).set(bytes);
  return { ...parsed, history: parsed.history as unknown as FoldOutcome['history'], logits };
}

function differingKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((key) => JSON.stringify(a[key]) !== JSON.stringify(b[key]));
}

/** Write then rename, so a run killed mid-write leaves the old file or none, never half of one. */
function writeAtomically(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temp, text);
  fs.renameSync(temp, file);
}
