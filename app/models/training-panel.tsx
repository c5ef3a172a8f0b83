'use client';

import { useRouter } from 'next/navigation';
import { useEffect, useRef, useState } from 'react';
import { useFormAction } from '@/app/_components/use-form-action';
import { trainNowAction } from './actions';

/** A training job as GET /api/v1/jobs answers it (lib/job-list.ts JobSummary, dates as strings). */
export interface TrainingJobView {
  id: number;
  status: 'queued' | 'running' | 'succeeded' | 'failed';
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
const REASONS: Record<string, string> = { manual: 'train now', labels: 'enough new labels', timer: 'timer' };

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
  if (loss !== null) parts.push(`loss ${loss.toFixed(4)}`);
  if (valAccuracy !== null) parts.push(`validation accuracy ${(valAccuracy * 100).toFixed(2)}%`);
  // Over the whole run's training: epochs done plus the share of this one.
  const fraction = phase === 'training' && epoch !== null && epochs ? Math.min(1, (epoch - 1 + (batch !== null && batches ? batch / batches : 0)) / epochs) : null;
  return (
    <div className="flex flex-col gap-1" data-testid="training-progress" data-phase={phase}>
      <p>
        <span className="font-medium capitalize">{phase}</span>
        {parts.length > 0 && <span className="tabular-nums text-gray-700"> · {parts.join(' · ')}</span>}
      </p>
      {fraction !== null && <progress className="h-2 w-80" max={1} value={fraction} aria-label="Training progress" />}
      {text(progress.message) && <p className="text-gray-600">{text(progress.message)}</p>}
    </div>
  );
}

function JobRow({ job }: { job: TrainingJobView }) {
  const progress = job.progress ?? {};
  return (
    <li className="border-t py-2 text-sm" data-testid="training-job" data-job-id={job.id} data-status={job.status}>
      <p className="text-gray-600">
        <span className="font-medium text-gray-900">Job #{job.id}</span> · {job.status} · {REASONS[job.reason ?? ''] ?? job.reason ?? 'training'}
        {job.requestedBy && <> by {job.requestedBy}</>} · queued {formatTime(job.createdAt)} · attempt {job.attempts} of {job.maxAttempts}
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
          {text(progress.candidateName) && <span className="font-medium">{text(progress.candidateName)}: </span>}
          {text(progress.reason) ?? text(progress.message) ?? 'Done.'}
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

/**
 * "Train now" and the catalogue's training jobs. It polls the jobs route every 2 s while a job
 * is queued or running and every 10 s otherwise, so a training the worker starts on its own
 * shows up too; when a job ends it refreshes the page, so the new version row appears.
 */
export function TrainingPanel({ catalogueId, slug, initialJobs }: { catalogueId: number; slug: string; initialJobs: TrainingJobView[] }) {
  const router = useRouter();
  const [jobs, setJobs] = useState(initialJobs);
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
        const response = await fetch(`/api/v1/jobs?catalogue=${encodeURIComponent(slug)}&kind=train&limit=10`, { cache: 'no-store' });
        const body = (await response.json()) as { jobs?: TrainingJobView[]; error?: { message: string } };
        if (cancelled) return;
        if (!response.ok || !body.jobs) {
          setPollError(body.error?.message ?? `The server answered ${response.status}.`);
          return;
        }
        setPollError(null);
        setJobs(body.jobs);
        const ended = body.jobs.filter((j) => !isLive(j) && wasLive(seen.current.get(j.id)));
        for (const j of body.jobs) seen.current.set(j.id, j.status);
        if (ended.length > 0) router.refresh();
        if (!body.jobs.some(isLive)) setQueuedHere(0);
      } catch {
        if (!cancelled) setPollError('Could not reach the server to follow the training.');
      }
    };
    if (live) void poll();
    const timer = setInterval(poll, live ? LIVE_POLL_MS : IDLE_POLL_MS);
    return () => {
      cancelled = true;
      clearInterval(timer);
    };
  }, [live, queuedHere, slug, router]);

  return (
    <div className="mt-4" data-testid="training-panel">
      <div className="flex flex-wrap items-center gap-3">
        <h3 className="text-sm font-medium text-gray-700">Training</h3>
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
        <p className="mt-1 text-sm text-gray-500">No training jobs yet.</p>
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
