import { spawn } from 'node:child_process';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '..');

export interface ScriptRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `npx tsx scripts/<name>.ts ...args` in the repository, as a user would, and collects its output. */
export function runScript(name: string, args: string[]): Promise<ScriptRun> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['tsx', `scripts/${name}.ts`, ...args], {
      cwd: repoRoot,
      env: { ...process.env, NO_COLOR: '1', LOUPE_DEBUG: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
