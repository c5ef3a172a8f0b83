/**
 * `npm run evaluate -- [--model <dir>] (--idx <dir> [--split t10k|train] | --csv <file>) [--json] [--out <file>]`
 *
 * Prints a text report on stdout, or with --json exactly one JSON object instead; --out
 * writes the text report to that file (stdout then carries only the JSON, if asked for).
 * Progress goes to stderr. Any failure is one line
 * `error: ...` on stderr and exit code 1 (LOUPE_DEBUG=1 adds the stack).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { getEnv } from '@/lib/env';
import { badInput, isAppError } from '@/lib/errors';
import { evaluateModel, type EvaluationSource } from '@/lib/ml/evaluate-model';
import { formatEvaluationReport } from '@/lib/ml/evaluation-report';
import { describeZodError } from '@/lib/validate';

const USAGE =
  'usage: npm run evaluate -- [--model <dir>] (--idx <dir> [--split t10k|train] | --csv <file>) [--json] [--out <file>]';

const EvaluateArgs = z
  .object({
    model: z.string().min(1).optional(),
    idx: z.string().min(1).optional(),
    split: z.enum(['t10k', 'train']).optional(),
    csv: z.string().min(1).optional(),
    json: z.boolean().default(false),
    out: z.string().min(1).optional(),
    help: z.boolean().default(false),
  })
  .check((ctx) => {
    const { idx, csv, split, help } = ctx.value;
    if (help) return;
    if ((idx === undefined) === (csv === undefined)) {
      ctx.issues.push({ code: 'custom', input: ctx.value, message: 'give exactly one of --idx <dir> or --csv <file>' });
    }
    if (split !== undefined && idx === undefined) {
      ctx.issues.push({ code: 'custom', input: ctx.value, message: '--split only applies to --idx' });
    }
  });

export type EvaluateCommand =
  { help: true } | { help: false; modelDir: string; source: EvaluationSource; json: boolean; out: string | undefined };

/** Parse and validate the command line; throws a bad_input AppError with a usage hint. */
export function parseEvaluateArgs(argv: string[]): EvaluateCommand {
  let values: unknown;
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        model: { type: 'string' },
        idx: { type: 'string' },
        split: { type: 'string' },
        csv: { type: 'string' },
        json: { type: 'boolean' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values;
  } catch (error) {
    // node:util's messages are already one sentence, e.g. "Unknown option '--foo'".
    throw badInput(`${error instanceof Error ? error.message : String(error)}. ${USAGE}`);
  }
  const parsed = EvaluateArgs.safeParse(values);
  if (!parsed.success) {
    throw badInput(`${describeZodError(parsed.error, { pathPrefix: '--', fallback: 'invalid arguments' })}. ${USAGE}`);
  }
  const args = parsed.data;
  if (args.help) return { help: true };
  const source: EvaluationSource =
    args.idx !== undefined
      ? { kind: 'idx', dir: args.idx, split: args.split ?? 't10k' }
      : { kind: 'csv', file: args.csv! };
  return { help: false, modelDir: args.model ?? getEnv().LOUPE_MODEL_DIR, source, json: args.json, out: args.out };
}

export type CliIo = { stdout: (text: string) => void; stderr: (text: string) => void };

/** One line, whatever the error: AppError messages as they are, anything else flagged as unexpected. */
export function formatCliError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const oneLine = message.replace(/\s+/g, ' ').trim();
  return isAppError(error) ? `error: ${oneLine}` : `error: unexpected failure: ${oneLine}`;
}

/** Run the evaluate command; returns the process exit code. */
export async function runEvaluateCli(argv: string[], io: CliIo): Promise<number> {
  try {
    const command = parseEvaluateArgs(argv);
    if (command.help) {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    let lastPercent = -1;
    const report = await evaluateModel({
      modelDir: command.modelDir,
      source: command.source,
      log: (line) => io.stderr(`${line}\n`),
      onProgress: (done, total) => {
        const percent = Math.floor((100 * done) / Math.max(1, total));
        if (percent >= lastPercent + 10 || done === total) {
          lastPercent = percent;
          io.stderr(`predicted ${done}/${total}\n`);
        }
      },
    });
    const text = formatEvaluationReport(report);
    if (command.out !== undefined) {
      mkdirSync(path.dirname(path.resolve(command.out)), { recursive: true });
      writeFileSync(command.out, text);
      io.stderr(`wrote report to ${command.out}\n`);
    }
    if (command.json) io.stdout(`${JSON.stringify(report)}\n`);
    else if (command.out === undefined) io.stdout(text);
    return 0;
  } catch (error) {
    // Same switch as scripts/cli.ts: a stack only when a developer asks for one.
    if (process.env.LOUPE_DEBUG && error instanceof Error) io.stderr(`${error.stack ?? error.message}\n`);
    io.stderr(`${formatCliError(error)}\n`);
    return 1;
  }
}

async function main(): Promise<void> {
  const fail = (error: unknown) => {
    process.stderr.write(`${formatCliError(error)}\n`);
    process.exit(1);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
  // tfjs and its backends log with console.log; stdout belongs to the report (or the JSON).
  console.log = console.error;
  console.info = console.error;
  const code = await runEvaluateCli(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  // Exit once stdout is flushed: backend worker threads could otherwise keep the process up.
  process.stdout.write('', () => process.exit(code));
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  void main();
}
