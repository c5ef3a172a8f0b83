import { getDb } from '@/db/client';
import { projectThresholds } from '@/lib/routing/projection';
import { latestTargetAccuracy } from '@/lib/routing/target-threshold';
import { ProjectionChart, type ChartPoint } from './projection-chart';
import { TargetForm } from './target-form';

function pct(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

/** The threshold projection of one catalogue: chart, proposal, target mode, projected vs observed. */
export async function ProjectionSection({ catalogueId, threshold }: { catalogueId: number; threshold: number }) {
  const projection = await projectThresholds(getDb(), { catalogueId });
  const { reviewerAccuracy, secondsPerDecision, sources } = projection;
  const lastTarget = await latestTargetAccuracy(getDb(), catalogueId);
  const points: ChartPoint[] = projection.points.map((p) => ({
    threshold: p.threshold,
    reviewShare: p.holdout.reviewShare,
    autoAccuracy: p.holdout.autoAccuracy,
    catalogueAccuracy: p.holdout.catalogueAccuracy,
    aboveThreshold: p.holdout.aboveThreshold,
    toReview: p.catalogue.toReview,
    entered: p.catalogue.entered,
    left: p.catalogue.left,
    reviewerHours: p.catalogue.reviewerHours,
    extraReviewerHours: p.catalogue.extraReviewerHours,
  }));
  return (
    <div className="mt-5 border-t pt-4" data-testid="threshold-projection">
      <h3 className="font-medium">Projection</h3>
      {projection.unavailable ? (
        <p className="mt-1 text-sm text-gray-600" data-testid="projection-unavailable">
          {projection.unavailable}
        </p>
      ) : (
        <>
          <p className="mt-1 max-w-3xl text-sm text-gray-600">
            What each threshold would cost and buy, measured on {projection.holdout.items.toLocaleString('en')} held-out
            items with trusted labels that the model
            {projection.model ? ` (${projection.model.name})` : ''} never trained on
            {projection.holdout.missing > 0
              ? ` (${projection.holdout.missing.toLocaleString('en')} more still to be predicted by the worker)`
              : ''}
            . Per-class overrides and the audit rate ({pct(projection.rules.auditRate)}) are kept at every threshold.
          </p>
          <div className="mt-2">
            <ProjectionChart
              catalogueId={catalogueId}
              points={points}
              current={projection.rules.threshold}
              holdoutItems={projection.holdout.items}
            />
          </div>
          <ul className="mt-2 list-disc pl-5 text-xs text-gray-600" data-testid="projection-sources">
            <li>Share to review: {sources.reviewShare}.</li>
            <li>Auto-accepted accuracy: {sources.autoAccuracy}.</li>
            <li data-source={reviewerAccuracy.source}>Catalogue accuracy: {sources.catalogueAccuracy}.</li>
            <li>Entering and leaving the queue: {sources.queue}.</li>
            <li data-source={secondsPerDecision.source}>Reviewer-hours: {sources.reviewerHours}.</li>
          </ul>
        </>
      )}
      <h4 className="mt-3 text-sm font-medium text-gray-700">Projected vs observed</h4>
      <p
        className="text-sm text-gray-800"
        data-testid="projection-observed"
        data-outside={projection.observed?.outside ?? undefined}
      >
        {projection.comparison}
      </p>
      <p className="text-xs text-gray-600">From {sources.observed}.</p>
      <h4 className="mt-3 text-sm font-medium text-gray-700">Target mode</h4>
      <p className="max-w-3xl text-sm text-gray-600">
        Ask for a minimum accuracy of auto-accepted items: Loupe saves the lowest threshold from 0.50 to 0.99 that
        reaches it on the held-out items.
        {lastTarget && (
          <span data-testid="target-last">
            {' '}
            Last applied: {pct(lastTarget.targetAccuracy)} by {lastTarget.userEmail ?? 'a script'} on{' '}
            {lastTarget.createdAt.toISOString().slice(0, 16).replace('T', ' ')} UTC.
          </span>
        )}
      </p>
      <div className="mt-1">
        <TargetForm catalogueId={catalogueId} threshold={threshold} />
      </div>
    </div>
  );
}
