// The environment and node flags `npm start` gives the gateway's process (and its Docker image and `start:prod` set
// the same), shared with the benches that start the gateway so they measure what users run.
//
// MALLOC_MMAP_THRESHOLD_: glibc serves allocations above 128 KiB with mmap and returns them on free, but after the
// first such free it raises that threshold (up to 32 MiB) for good, so later large blocks come from the heap of
// the thread that asked and are kept. Each client-secret hash (scrypt, 16 MiB, on one of libuv's four threads)
// then left its 16 MiB behind per thread: loading the demo's clients added ≈ 90 MB RSS that never came back.
// A fixed threshold keeps large blocks on mmap (the same probe: +0 MB after the hashes).
export const GATEWAY_RUNTIME_ENV = Object.freeze({ MALLOC_MMAP_THRESHOLD_: '131072' });

// --heap-growing-percent=100: after each full collection V8 lets the old generation grow to its live size times a
// factor before the next one, a factor it picks between 1.1 and 4 from how fast its collector ran against the
// program's allocation (4 when the program allocates fast, as the API does under load). With ≈ 33–52 MB live that
// was up to ≈ 220 MB of old generation before a collection, and the API process's peak RSS 217–307 MB under the
// `api` bench. A fixed factor of 2 keeps the old generation at about twice what is live (docs/performance.md,
// 2026-12-07 night). A command-line flag: NODE_OPTIONS does not accept it. The split layout's roles inherit it.
export const GATEWAY_NODE_FLAGS = Object.freeze(['--enable-source-maps', '--heap-growing-percent=100']);

/** `env` with the runtime settings above added where `env` does not set them itself. */
export function withGatewayRuntimeEnv(env) {
  return { ...GATEWAY_RUNTIME_ENV, ...env };
}
