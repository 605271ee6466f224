/**
 * Lets the event loop run I/O callbacks (socket reads, ACK writes, timers) before the caller goes on. Long
 * synchronous stretches (building a batch of resources) call it between pieces of work, so a batch being prepared
 * does not hold up the acknowledgements of messages arriving meanwhile.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
