// The environment `npm start` gives the gateway's process (and its Docker image sets the same), shared with the
// memory bench so it measures what users run.
//
// MALLOC_MMAP_THRESHOLD_: glibc serves allocations above 128 KiB with mmap and returns them on free, but after the
// first such free it raises that threshold (up to 32 MiB) for good, so later large blocks come from the heap of
// the thread that asked and are kept. Each client-secret hash (scrypt, 16 MiB, on one of libuv's four threads)
// then left its 16 MiB behind per thread: loading the demo's clients added ≈ 90 MB RSS that never came back.
// A fixed threshold keeps large blocks on mmap (the same probe: +0 MB after the hashes).
export const GATEWAY_RUNTIME_ENV = Object.freeze({ MALLOC_MMAP_THRESHOLD_: '131072' });

/** `env` with the runtime settings above added where `env` does not set them itself. */
export function withGatewayRuntimeEnv(env) {
  return { ...GATEWAY_RUNTIME_ENV, ...env };
}
