/** Getting items into a catalogue: from memory, IDX, CSV or image files. */
export { ensureCatalogue, EnsureCatalogueInput, findCatalogue, requireCatalogue } from '../catalogues';
export { importCsv, importIdx, importImages } from './files';
export { importItems, type ImportItem, type ImportItemsInput, type ImportResult } from './items';
