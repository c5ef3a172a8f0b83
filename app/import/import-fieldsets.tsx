import { MAX_UPLOAD_BYTES, describeBytes } from '@/lib/import/upload-limits';

export type Kind = 'idx' | 'csv' | 'images';
export type Target = 'existing' | 'new';

export interface CatalogueOption {
  slug: string;
  name: string;
  classNames: string[];
}

const field = 'mt-1 rounded border border-gray-300 px-2 py-1';

/** Where the items go: an existing catalogue, or a new one with its class list. */
export function CatalogueFieldset(props: {
  catalogues: CatalogueOption[];
  target: Target;
  onTarget: (target: Target) => void;
  existing: string;
  onExisting: (slug: string) => void;
  classesText: string;
  onClassesText: (text: string) => void;
}) {
  const { catalogues, target, onTarget, existing, onExisting, classesText, onClassesText } = props;
  return (
    <fieldset className="flex flex-col gap-2">
      <legend className="font-medium">Catalogue</legend>
      <div className="flex gap-4 text-sm">
        <label className="flex items-center gap-1">
          <input
            type="radio"
            name="target"
            checked={target === 'existing'}
            disabled={catalogues.length === 0}
            onChange={() => onTarget('existing')}
          />
          An existing catalogue
        </label>
        <label className="flex items-center gap-1">
          <input type="radio" name="target" checked={target === 'new'} onChange={() => onTarget('new')} />A new
          catalogue
        </label>
      </div>
      {target === 'existing' ? (
        <label className="flex flex-col text-sm">
          Existing catalogue
          <select
            name="catalogue"
            value={existing}
            onChange={(e) => onExisting(e.target.value)}
            className={`${field} w-96`}
          >
            {catalogues.map((c) => (
              <option key={c.slug} value={c.slug}>
                {c.name} ({c.slug}, {c.classNames.length} classes)
              </option>
            ))}
          </select>
        </label>
      ) : (
        <div className="flex flex-wrap gap-4">
          <input type="hidden" name="create" value="true" />
          <label className="flex flex-col text-sm">
            Slug (lower-case letters, digits, dashes)
            <input name="catalogue" required placeholder="shoes" className={`${field} w-64`} />
          </label>
          <label className="flex flex-col text-sm">
            Name
            <input name="name" required placeholder="Shoes" className={`${field} w-64`} />
          </label>
          <label className="flex flex-col text-sm">
            Class names, in order, one per line (line 1 is label 0)
            <textarea
              name="classes"
              required
              rows={5}
              value={classesText}
              onChange={(e) => onClassesText(e.target.value)}
              placeholder={'boot\nsandal\nsneaker'}
              className={`${field} w-64 font-mono`}
            />
          </label>
        </div>
      )}
    </fieldset>
  );
}

/** The files of one import: CSV, an IDX pair, or images with an optional label for all. */
export function FilesFieldset({
  kind,
  onKind,
  classNames,
}: {
  kind: Kind;
  onKind: (kind: Kind) => void;
  classNames: string[];
}) {
  return (
    <fieldset className="flex flex-col gap-2">
      <legend className="font-medium">Files</legend>
      <div className="flex gap-4 text-sm">
        {(
          [
            ['csv', 'CSV'],
            ['idx', 'IDX'],
            ['images', 'Images (PNG, JPEG, WebP)'],
          ] as const
        ).map(([value, label]) => (
          <label key={value} className="flex items-center gap-1">
            <input type="radio" name="kind" value={value} checked={kind === value} onChange={() => onKind(value)} />
            {label}
          </label>
        ))}
      </div>
      {kind === 'csv' && (
        <label className="flex flex-col text-sm">
          CSV file
          <input key="csv" name="file" type="file" required accept=".csv,text/csv" className="mt-1" />
        </label>
      )}
      {kind === 'idx' && (
        <div className="flex flex-wrap gap-6">
          <label className="flex flex-col text-sm">
            Images file (idx3, raw or .gz)
            <input key="idx-images" name="file" type="file" required className="mt-1" />
          </label>
          <label className="flex flex-col text-sm">
            Labels file (idx1, optional)
            <input key="idx-labels" name="labels" type="file" className="mt-1" />
          </label>
        </div>
      )}
      {kind === 'images' && (
        <div className="flex flex-wrap gap-6">
          <label className="flex flex-col text-sm">
            Image files (several allowed)
            <input
              key="images"
              name="file"
              type="file"
              required
              multiple
              accept="image/png,image/jpeg,image/webp"
              className="mt-1"
            />
          </label>
          <label className="flex flex-col text-sm">
            Label for all (optional)
            <select name="label" defaultValue="" className={`${field} w-48`}>
              <option value="">no label</option>
              {classNames.map((name, index) => (
                <option key={`${index}-${name}`} value={index}>
                  {index}: {name}
                </option>
              ))}
            </select>
          </label>
        </div>
      )}
      <p className="text-xs text-gray-500">
        At most {describeBytes(MAX_UPLOAD_BYTES)} per upload; larger data sets: npm run import on the server.
      </p>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" name="keepDuplicates" value="true" className="h-4 w-4" />
        Import images already in the catalogue anyway (same pixels, under any file name); without this they are skipped
        and listed
      </label>
    </fieldset>
  );
}
