import { eq } from 'drizzle-orm';
import { getDb } from '@/db/client';
import { catalogues, modelVersions } from '@/db/schema';
import { readWorkerStatus, type WorkerStatus } from '@/lib/jobs/worker-status';
import { readModelMeta } from '@/lib/ml/model-store';
import { onnxPrecisionFor, type OnnxPrecision } from '@/lib/ml/onnx/precision';
import { readSupervisorStatus, type SupervisorStatus } from '@/lib/supervisor-status';

/**
 * up: running (the worker's heartbeat is fresh); starting: started, no heartbeat from this
 * process yet; down: exited and waiting to be restarted, or its heartbeat stopped; unknown:
 * never seen (the worker is not run beside this server).
 */
export type PartStatus = 'up' | 'starting' | 'down' | 'unknown';

export interface Health {
  /** The web server answers and reads the database: false (and HTTP 503) only when it cannot. */
  ok: boolean;
  /** `degraded` while a part is down or starting: the site serves, jobs may wait. */
  status: 'ok' | 'degraded' | 'down';
  database: { ok: boolean; error?: string };
  /**
   * precision: what the worker scores the version in: fp32, or int8 where the ONNX scorer asks
   * for it and the version is calibrated; null before the worker reported its scorer, or when
   * the version's folder cannot be read.
   */
  models: { catalogue: string; version: string; arch: string; id: number; precision: OnnxPrecision | null }[];
  /** The TensorFlow.js backend of the worker, which runs every model; null before it started. */
  mlBackend: string | null;
  /** What the worker scores with: 'onnx' (ONNX Runtime) or 'tfjs'; null before it started. */
  scorer: 'onnx' | 'tfjs' | null;
  /** This answer comes from the web server, so it is up; restarts counts those by npm start (null without it). */
  web: { status: 'up'; restarts: number | null };
  worker: {
    status: PartStatus;
    /** The worker's last heartbeat (every 5 s while it runs), null if none was ever written. */
    lastSeen: string | null;
    restarts: number | null;
    threads: number | null;
    job: { id: number; kind: string } | null;
    /** Only for signed-in operators: process ids are nobody else's business. */
    pid?: number;
  };
}

function workerHealth(supervisor: SupervisorStatus | null, detail: boolean): Health['worker'] {
  const heartbeat = readWorkerStatus();
  const supervised = supervisor?.children.worker ?? null;
  let status: PartStatus;
  if (supervised && supervised.state !== 'running') status = 'down';
  else if (supervised && heartbeat?.pid !== supervised.pid) status = 'starting';
  else if (!heartbeat) status = supervised ? 'starting' : 'unknown';
  else status = heartbeat.stale ? 'down' : 'up';
  const current = status === 'up' && heartbeat;
  return {
    status,
    lastSeen: heartbeat?.updatedAt ?? null,
    restarts: supervised?.restarts ?? null,
    threads: current ? current.threads : null,
    job: current ? (current.job ?? null) : null,
    ...(detail && current ? { pid: current.pid } : {}),
  };
}

/**
 * What /api/v1/health reports: the database, each catalogue's active model, the ML backend,
 * and which part of Loupe is down. `detail` (a signed-in operator) adds the worker's pid.
 */
export async function checkHealth(options: { detail?: boolean } = {}): Promise<Health> {
  let database: Health['database'] = { ok: true };
  let active: (Omit<Health['models'][number], 'precision'> & { weightsPath: string })[] = [];
  try {
    // Reading the active models is the database check: it fails when the database cannot be read.
    active = await getDb()
      .select({
        catalogue: catalogues.slug,
        version: modelVersions.name,
        arch: modelVersions.arch,
        id: modelVersions.id,
        weightsPath: modelVersions.weightsPath,
      })
      .from(modelVersions)
      .innerJoin(catalogues, eq(catalogues.id, modelVersions.catalogueId))
      .where(eq(modelVersions.status, 'active'));
  } catch {
    database = { ok: false, error: 'The database could not be read.' };
  }
  const supervisor = readSupervisorStatus();
  const worker = workerHealth(supervisor, options.detail === true);
  const heartbeat = readWorkerStatus();
  const models = active.map(({ weightsPath, ...model }) => ({
    ...model,
    precision: precisionOf(weightsPath, heartbeat),
  }));
  return {
    ok: database.ok,
    status: !database.ok ? 'down' : worker.status === 'up' || worker.status === 'unknown' ? 'ok' : 'degraded',
    database,
    models,
    mlBackend: heartbeat?.backend ?? null,
    scorer: heartbeat?.scorer ?? null,
    web: { status: 'up', restarts: supervisor?.children.web?.restarts ?? null },
    worker,
  };
}

/** The precision the worker scores a version's folder in (see Health['models']). */
function precisionOf(weightsPath: string, heartbeat: WorkerStatus | null): OnnxPrecision | null {
  if (!heartbeat?.scorer) return null;
  if (heartbeat.scorer === 'tfjs') return 'fp32';
  try {
    return onnxPrecisionFor(readModelMeta(weightsPath), heartbeat.onnxPrecision ?? 'fp32');
  } catch {
    return null;
  }
}
