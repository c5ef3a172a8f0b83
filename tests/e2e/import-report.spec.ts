import { expect, queryAll, test } from './fixtures';

// Issue 16: images already in the catalogue are reported and skipped; a CSV header that names a
// label column with one pixel column short is refused instead of dropping every label.

const PIXELS = 784;

/** One CSV row per image number: image n has n in its first pixel, so images differ and files agree. */
function csv(images: number[], header = true): Buffer {
  const names = ['label', ...Array.from({ length: PIXELS }, (_, i) => `pixel${i + 1}`)].join(',');
  const rows = images.map((n) =>
    [n % 2, n, ...Array.from({ length: PIXELS - 1 }, (_, i) => (i + n * 3) % 256)].join(','),
  );
  return Buffer.from(`${header ? `${names}\n` : ''}${rows.join('\n')}\n`);
}

async function itemIds(slug: string): Promise<number[]> {
  return (
    await queryAll<{ id: number }>(
      'select items.id from items join catalogues c on c.id = items.catalogue_id where c.slug = ? order by items.id',
      slug,
    )
  ).map((row) => row.id);
}

test('the Import page names images already in the catalogue, skips them, and keeps them when asked', async ({
  adminPage: page,
}) => {
  const slug = `e2e-dups-${Date.now()}`;
  await page.goto('/import');
  await page.getByLabel('A new catalogue').check();
  await page.getByLabel(/^Slug/).fill(slug);
  await page.getByLabel('Name', { exact: true }).fill('E2E Dups');
  await page.getByLabel(/^Class names/).fill('odd\neven');
  await page.getByLabel('CSV file').setInputFiles({ name: 'monday.csv', mimeType: 'text/csv', buffer: csv([1, 2, 3]) });
  await page.getByRole('button', { name: 'Upload and import' }).click();
  await expect(page.getByTestId('import-inserted')).toHaveText('3 new items');
  await expect(page.getByTestId('import-duplicates')).toHaveCount(0);
  const first = await itemIds(slug);
  expect(first).toHaveLength(3);

  // The same images 2 and 3 under another name, plus a new one: the form now targets the new catalogue.
  await expect(page.locator('select[name=catalogue]')).toHaveValue(slug);
  await page
    .getByLabel('CSV file')
    .setInputFiles({ name: 'tuesday.csv', mimeType: 'text/csv', buffer: csv([2, 3, 4]) });
  await page.getByRole('button', { name: 'Upload and import' }).click();
  await expect(page.getByTestId('import-inserted')).toHaveText('1 new item');
  await expect(page.getByTestId('import-duplicates')).toHaveText(
    `2 images already in the catalogue (items ${first[1]}, ${first[2]}); they were skipped.`,
  );
  expect(await itemIds(slug)).toHaveLength(4);

  await page.getByLabel('CSV file').setInputFiles({ name: 'again.csv', mimeType: 'text/csv', buffer: csv([1]) });
  await page.getByLabel(/^Import images already in the catalogue anyway/).check();
  await page.getByRole('button', { name: 'Upload and import' }).click();
  await expect(page.getByTestId('import-inserted')).toHaveText('1 new item');
  await expect(page.getByTestId('import-duplicates')).toHaveText(
    `1 image already in the catalogue (item ${first[0]}); it was imported again as asked.`,
  );
  expect(await itemIds(slug)).toHaveLength(5);

  // label,pixel1..pixel783: 784 columns that used to be read as unlabelled pixels.
  const short = ['label', ...Array.from({ length: PIXELS - 1 }, (_, i) => `pixel${i + 1}`)].join(',');
  const body = Array.from({ length: PIXELS }, (_, i) => i % 256).join(',');
  await page
    .getByLabel('CSV file')
    .setInputFiles({ name: 'short.csv', mimeType: 'text/csv', buffer: Buffer.from(`${short}\n${body}\n`) });
  await page.getByRole('button', { name: 'Upload and import' }).click();
  await expect(page.getByTestId('import-error')).toHaveText(
    'short.csv: line 1 (the header row) names a label column (label) and 783 pixel columns; expected label + 784 pixel columns (785 in all), or 784 pixel columns without a label.',
  );
  expect(await itemIds(slug)).toHaveLength(5);
});
