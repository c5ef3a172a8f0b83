/** What a review page shows when it has no catalogue to open (none yet, or a wrong slug). */
export function ReviewUnavailable({ message }: { message: string }) {
  return (
    <main className="mx-auto max-w-6xl p-6">
      <h1 className="text-2xl font-semibold">Review</h1>
      <p className="mt-3 text-gray-700" data-testid="review-message">
        {message}
      </p>
    </main>
  );
}
