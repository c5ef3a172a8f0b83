import fs from 'node:fs';

/**
 * Resident memory of a process and its descendants, read from Linux's /proc (elsewhere: null).
 * `next start` may fork helpers, so the web server's figure is the whole tree's; the worker's
 * parallel scoring runs in threads, which its own RSS already includes.
 */
export function processTreeRssBytes(rootPid: number): number | null {
  if (!fs.existsSync(`/proc/${rootPid}/status`)) return null;
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = readParentPid(Number(entry));
    if (ppid !== null) parents.set(Number(entry), ppid);
  }
  let total = 0;
  for (const pid of [rootPid, ...descendantsOf(rootPid, parents)]) total += readStatusKb(pid, 'VmRSS') ?? 0;
  return total * 1024;
}

function readParentPid(pid: number): number | null {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces and parentheses.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[1]);
  } catch {
    return null;
  }
}

function descendantsOf(root: number, parents: Map<number, number>): number[] {
  const out: number[] = [];
  const frontier = [root];
  while (frontier.length > 0) {
    const pid = frontier.pop()!;
    for (const [child, parent] of parents) {
      if (parent === pid) {
        out.push(child);
        frontier.push(child);
      }
    }
  }
  return out;
}

/** A `Vm*` line of /proc/<pid>/status in kB, or null when the process is gone. */
export function readStatusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | null {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

/**
 * Samples a process tree's resident memory every `intervalMs` and keeps the peak. The kernel's
 * own high-water mark (VmHWM) of the root process is kept too: it catches a spike between two
 * samples, though only for that one process.
 */
export class PeakMemorySampler {
  private peakTree = 0;
  private peakHwmKb = 0;
  private samples = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly pid: number,
    private readonly intervalMs = 250,
  ) {}

  start(): this {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
    return this;
  }

  sample(): void {
    const tree = processTreeRssBytes(this.pid);
    if (tree === null) return;
    this.samples++;
    this.peakTree = Math.max(this.peakTree, tree);
    this.peakHwmKb = Math.max(this.peakHwmKb, readStatusKb(this.pid, 'VmHWM') ?? 0);
  }

  stop(): PeakMemory | null {
    this.sample();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.samples === 0) return null;
    const mb = (bytes: number) => Number((bytes / 2 ** 20).toFixed(1));
    return {
      peakRssMb: mb(Math.max(this.peakTree, this.peakHwmKb * 1024)),
      peakTreeRssSampledMb: mb(this.peakTree),
      peakRootHwmMb: mb(this.peakHwmKb * 1024),
      samples: this.samples,
    };
  }
}

export interface PeakMemory {
  /** The larger of the sampled tree peak and the root's own high-water mark. */
  peakRssMb: number;
  peakTreeRssSampledMb: number;
  peakRootHwmMb: number;
  samples: number;
}
