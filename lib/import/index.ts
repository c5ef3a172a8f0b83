/** Getting items into a catalogue: from memory, IDX, CSV or image files. */
export { ensureCatalogue, EnsureCatalogueInput, findCatalogue, requireCatalogue } from '../catalogues';
export { importCsv, importIdx, importImages } from './files';
export {
  importItems,
  importItemsInChunks,
  type ImportItem,
  type ImportItemsInput,
  type ImportProgress,
  type ImportResult,
} from './items';
export { recoverImports } from './staging';
