/** Jobs the models page follows: trainings and re-scorings, newest first (score jobs for new items belong to the import page). */
export const SHOWN_JOBS = 10;

export function mergeShownJobs<J extends { id: number; reason: string | null; createdAt: string }>(
  train: J[],
  score: J[],
): J[] {
  return [...train, ...score.filter((j) => j.reason === 'rescore')]
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id - a.id)
    .slice(0, SHOWN_JOBS);
}
