import { countCatalogueSummaries } from '@/lib/catalogue-summary';

export const dynamic = 'force-dynamic';

export default function HomePage() {
  const summaries = countCatalogueSummaries();
  return (
    <main>
      <h1>Loupe</h1>
      <p>Human-in-the-loop review for product-image classification. The review app arrives with the next milestone; this page shows what is loaded.</p>
      <table cellPadding={6} data-testid="catalogue-summary">
        <thead>
          <tr>
            <th align="left">Catalogue</th>
            <th align="right">Items</th>
            <th align="right">Auto-accepted</th>
            <th align="right">Needs review</th>
            <th align="right">Unscored</th>
            <th align="left">Active model</th>
          </tr>
        </thead>
        <tbody>
          {summaries.map((s) => (
            <tr key={s.slug}>
              <td>{s.name}</td>
              <td align="right">{s.total}</td>
              <td align="right">{s.byStatus.auto_accepted ?? 0}</td>
              <td align="right">{s.byStatus.needs_review ?? 0}</td>
              <td align="right">{s.byStatus.unscored ?? 0}</td>
              <td>{s.activeModel ?? 'none'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        Health: <a href="/api/v1/health">/api/v1/health</a>
      </p>
    </main>
  );
}
