/** Time as a dependency: production uses the system clock; tests and demos move a manual one. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock tests can set and advance; listeners run on every move (deadline timers re-arm on them). */
export class ManualClock implements Clock {
  private t: number;
  private readonly listeners = new Set<(now: Date) => void>();
  constructor(start: Date | string = '2026-01-01T08:00:00Z') {
    this.t = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  set(to: Date | string): void {
    this.t = new Date(to).getTime();
    for (const l of this.listeners) l(this.now());
  }
  advance(ms: number): void {
    this.set(new Date(this.t + ms));
  }
  onChange(l: (now: Date) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
