// Preloaded after tsx by the worker processes (scripts/lib/worker-args.ts): tsx turns on Node's
// source maps, and Node then keeps the map of every module the process loads, about 50 MB of the
// worker's resident memory. Stack traces point into tsx's transpiled code instead; run
// `npm run worker` (plain tsx) for mapped ones.
process.setSourceMapsEnabled(false);
