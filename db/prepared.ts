/**
 * Statements built once per database handle and reused: drizzle builds a query's SQL and SQLite
 * compiles it on every call otherwise, which was a third of a review request's server time
 * (docs/operations.md, the queue at 1,000,000 items). `build` runs on the first call for a
 * handle; a prepared statement belongs to that handle's connection. On SQLite a transaction runs
 * on the handle's one connection, so statements prepared on the handle run inside it.
 */
export function preparedPerHandle<H extends object, S>(build: (handle: H) => S): (handle: H) => S {
  const statements = new WeakMap<H, S>();
  return (handle) => {
    let built = statements.get(handle);
    if (built === undefined) {
      built = build(handle);
      statements.set(handle, built);
    }
    return built;
  };
}
