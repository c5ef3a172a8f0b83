'use client';

import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState } from 'react';
import { useFormAction } from '@/app/_components/use-form-action';
import type { JobKind, JobStatus } from '@/db/schema';
import type { JobOutcome } from '@/lib/jobs/list';
import { trainNowAction } from './actions';
import { mergeShownJobs, SHOWN_JOBS } from './shown-jobs';

/** A training or re-scoring job as GET /api/v1/jobs answers it (lib/jobs/list.ts JobSummary, dates as strings). */
export interface TrainingJobView {
  id: number;
  kind: JobKind;
  status: JobStatus;
  /** The status, or what a finished job's result says: a training whose candidate was rejected reads `rejected`. */
  outcome: JobOutcome;
  reason: string | null;
  requestedBy: string | null;
  attempts: number;
  maxAttempts: number;
  /** Times its worker died mid-run and another took it over (not counted as attempts). */
  leaseExpiries: number;
  progress: Record<string, unknown> | null;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/** Poll fast while a job is queued or running, slowly otherwise (the worker may start one). */
const LIVE_POLL_MS = 2000;
const IDLE_POLL_MS = 10_000;
const REASONS: Record<string, string> = {
  manual: 'train now',
  labels: 'enough new labels',
  timer: 'timer',
  rescore: 'after a promotion or a rollback',
};
const OUTCOME_STYLE: Partial<Record<JobOutcome, string>> = {
  promoted: 'text-green-800',
  rejected: 'text-red-800',
  failed: 'text-red-800',
};

const isLive = (job: TrainingJobView) => job.status === 'queued' || job.status === 'running';
/** A job never seen before counts as live: it was queued and ended between two polls. */
const wasLive = (status: TrainingJobView['status'] | undefined) => status === undefined || status === 'queued' || status === 'running';
const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

function formatTime(iso: string): string {
  return iso.replace('T', ' ').slice(0, 19) + ' UTC';
}

function RunningProgress({ progress }: { progress: Record<string, unknown> }) {
  const phase = text(progress.phase) ?? 'starting';
  const epoch = num(progress.epoch);
  const epochs = num(progress.epochs);
  const batch = num(progress.batch);
  const batches = num(progress.batches);
  const loss = num(progress.loss);
  const valAccuracy = num(progress.valAccuracy);
  const parts: string[] = [];
  if (phase === 'training' && epoch !== null && epochs !== null) parts.push(`epoch ${epoch}/${epochs}`);
  if (phase === 'training' && batch !== null && batches !== null) parts.push(`batch ${batch}/${batches}`);
  const counting = phase === 'rescoring' || phase === 'scoring';
  // A re-score job reports done/total; a training re-scoring after its promotion, batch/batches and a message.
  const done = num(progress.done) ?? (counting ? batch : null);
  const total = num(progress.total) ?? (counting ? batches : null);
  if (counting && done !== null && total !== null && !text(progress.message))
    parts.push(`${done.toLocaleString('en')} of ${total.toLocaleString('en')} items`);
  if (loss !== null) parts.push(`loss ${loss.toFixed(4)}`);
  if (valAccuracy !== null) parts.push(`validation accuracy ${(valAccuracy * 100).toFixed(2)}%`);
  // Over the whole run's training: epochs done plus the share of this one.
  const fraction =
    phase === 'training' && epoch !== null && epochs
      ? Math.min(1, (epoch - 1 + (batch !== null && batches ? batch / batches : 0)) / epochs)
      : counting && done !== null && total
        ? Math.min(1, done / total)
        : null;
  return (
    <div className="flex flex-col gap-1" data-testid="training-progress" data-phase={phase}>
      <p>
        <span className="font-medium capitalize">{phase === 'rescoring' ? 're-scoring' : phase}</span>
        {parts.length > 0 && <span className="tabular-nums text-gray-700"> · {parts.join(' · ')}</span>}
      </p>
      {fraction !== null && (
        <progress
          className="h-2 w-full max-w-80"
          max={1}
          value={fraction}
          aria-label={counting ? 'Re-scoring progress' : 'Training progress'}
          data-testid="job-progress-bar"
        />
      )}
      {text(progress.message) && <p className="text-gray-600">{text(progress.message)}</p>}
    </div>
  );
}

function rescoreSummary(progress: Record<string, unknown>): string | null {
  const predicted = num(progress.predicted);
  const reused = num(progress.reused);
  const entered = num(progress.entered);
  const left = num(progress.left);
  if (predicted === null || reused === null || entered === null || left === null) return null;
  const n = (x: number) => x.toLocaleString('en');
  return `Re-scored ${n(predicted + reused)} items (${n(predicted)} predicted, ${n(reused)} predictions reused): ${n(entered)} entered the review queue, ${n(left)} left it.`;
}

function JobRow({ job }: { job: TrainingJobView }) {
  const progress = job.progress ?? {};
  const rescore = job.kind === 'score';
  return (
    <li
      className="border-t py-2 text-sm"
      data-testid="training-job"
      data-job-id={job.id}
      data-kind={rescore ? 'rescore' : 'train'}
      data-status={job.status}
      data-outcome={job.outcome}
    >
      <p className="text-gray-600">
        <span className="font-medium text-gray-900">
          {rescore ? 'Re-scoring' : 'Training'} job #{job.id}
        </span>{' '}
        ·{' '}
        <span className={`font-medium ${OUTCOME_STYLE[job.outcome] ?? ''}`} data-testid="job-outcome">
          {job.outcome}
        </span>{' '}
        · {REASONS[job.reason ?? ''] ?? job.reason ?? 'training'}
        {job.requestedBy && <> by {job.requestedBy}</>} · queued {formatTime(job.createdAt)} · attempt {job.attempts} of{' '}
        {job.maxAttempts}
        {job.leaseExpiries > 0 && (
          <span data-testid="job-takeovers">
            {' '}
            · taken over after {job.leaseExpiries} worker {job.leaseExpiries === 1 ? 'crash' : 'crashes'}
          </span>
        )}
      </p>
      {job.status === 'running' && <RunningProgress progress={progress} />}
      {job.status === 'queued' && job.error && (
        <p className="text-amber-800" data-testid="job-error">
          The last attempt failed and will be retried: {job.error}
        </p>
      )}
      {job.status === 'succeeded' && (
        <p data-testid="job-result">
          {rescore ? (
            (text(progress.message) ?? rescoreSummary(progress) ?? 'Done.')
          ) : (
            <>
              {text(progress.candidateName) && <span className="font-medium">{text(progress.candidateName)}: </span>}
              {job.outcome === 'rejected' && 'rejected by the gate: '}
              {text(progress.reason) ?? text(progress.message) ?? 'Done.'}
            </>
          )}
        </p>
      )}
      {job.status === 'failed' && (
        <p role="alert" className="text-red-700" data-testid="job-error">
          Failed: {job.error ?? 'no error was recorded.'}
        </p>
      )}
    </li>
  );
}

async function fetchJobs(slug: string, kind: 'train' | 'score'): Promise<TrainingJobView[]> {
  const response = await fetch(`/api/v1/jobs?catalogue=${encodeURIComponent(slug)}&kind=${kind}&limit=${SHOWN_JOBS}`, {
    cache: 'no-store',
  });
  const body = (await response.json()) as { jobs?: TrainingJobView[]; error?: { message: string } };
  if (!response.ok || !body.jobs) throw new Error(body.error?.message ?? `The server answered ${response.status}.`);
  return body.jobs;
}

/**
 * "Train now" and the catalogue's training and re-scoring jobs. It polls the jobs route every
 * 2 s while a job is queued or running and every 10 s otherwise, so a training the worker
 * starts on its own shows up too; when a job ends it refreshes the page, so the new version row
 * appears. A promotion on this page refreshes it too: its re-scoring job arrives as a new
 * `initialJobs` and is followed live like a training.
 */
export function TrainingPanel({ catalogueId, slug, initialJobs }: { catalogueId: number; slug: string; initialJobs: TrainingJobView[] }) {
  const router = useRouter();
  const [jobs, setJobs] = useState(initialJobs);
  // Fresh server data (after a promotion or a refresh) replaces what the last poll saw.
  const [initial, setInitial] = useState(initialJobs);
  if (initial !== initialJobs) {
    setInitial(initialJobs);
    setJobs(initialJobs);
  }
  const [pollError, setPollError] = useState<string | null>(null);
  const train = useFormAction(trainNowAction, { resetAfter: 'never' });
  // Each job's status as last seen: a job that was live, or was never seen, and has now ended
  // means a new version row may be waiting on the server.
  const seen = useRef(new Map(initialJobs.map((j) => [j.id, j.status])));
  const [queuedHere, setQueuedHere] = useState(0);
  const live = jobs.some(isLive) || queuedHere > 0;

  // A job just queued from this page: poll fast even before it shows in the list.
  useEffect(() => {
    if (train.state?.ok) setQueuedHere((n) => n + 1);
  }, [train.state]);

  useEffect(() => {
    let cancelled = false;
    const poll = async () => {
      try {
        const [train, score] = await Promise.all([fetchJobs(slug, 'train'), fetchJobs(slug, 'score')]);
        const shown = mergeShownJobs(train, score);
        if (cancelled) return;
        setPollError(null);
        setJobs(shown);
        const ended = shown.filter((j) => !isLive(j) && wasLive(seen.current.get(j.id)));
        for (const j of shown) seen.current.set(j.id, j.status);
        if (ended.length > 0) router.refresh();
        if (!shown.some(isLive)) setQueuedHere(0);
      } catch (error) {
        if (!cancelled)
          setPollError(
            error instanceof TypeError
              ? 'Could not reach the server to follow the jobs.'
              : error instanceof Error
                ? error.message
                : String(error),
          );
      }
    };
    if (live) void poll();
    const timer = setInterval(() => void poll(), live ? LIVE_POLL_MS : IDLE_POLL_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [live, queuedHere, slug, router]);

  return (
    <div className="mt-4" data-testid="training-panel">
      <div className="flex flex-wrap items-center gap-3">
        <h3 className="text-sm font-medium text-gray-700">Training and re-scoring</h3>
        <form ref={train.formRef} onSubmit={train.onSubmit} aria-label="Train now">
          <input type="hidden" name="catalogueId" value={catalogueId} />
          <button type="submit" disabled={train.pending} className="rounded bg-gray-900 px-3 py-1 text-sm text-white disabled:opacity-50">
            {train.pending ? 'Queueing…' : 'Train now'}
          </button>
        </form>
        {train.state &&
          (train.state.ok ? (
            <p role="status" data-testid="train-result" className="text-sm text-green-800">
              {train.state.data.created ? `Training job #${train.state.data.jobId} queued.` : `Training job #${train.state.data.jobId} is already queued or running.`}
            </p>
          ) : (
            <p role="alert" data-testid="train-error" className="text-sm text-red-700">
              {train.state.message}
            </p>
          ))}
      </div>
      {pollError && <p className="text-sm text-red-700">{pollError}</p>}
      {jobs.length === 0 ? (
        <p className="mt-1 text-sm text-gray-500">No training or re-scoring jobs yet.</p>
      ) : (
        <ul className="mt-1" data-testid="training-jobs">
          {jobs.map((job) => (
            <JobRow key={job.id} job={job} />
          ))}
        </ul>
      )}
    </div>
  );
}
