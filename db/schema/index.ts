/** The whole schema, one module per domain. Import tables from here (`@/db/schema`). */
export * from './catalogues';
export * from './import-rows';
export * from './items';
export * from './jobs';
export * from './lab';
export * from './models';
export * from './reviews';
export * from './users';
