import { AsyncLocalStorage } from 'node:async_hooks';

/** A warning a write's hooks leave for the write's answer (e.g. an engine warning about the stay; ADR 024). */
export interface WriteNote {
  code: string;
  text: string;
  /** The resource the note is about (`Encounter/<id>`, the stay), so a Bundle's answer puts it on that entry. */
  about?: string;
}

const store = new AsyncLocalStorage<WriteNote[]>();

/** Runs `fn` (e.g. the rest of an HTTP request) with a fresh list of notes that its writes' hooks can add to. */
export function withWriteNotes<T>(fn: () => T): T {
  return store.run([], fn);
}

/** Adds notes for the current write's answer (ignored outside `withWriteNotes`; a repeated text is kept once). */
export function addWriteNotes(notes: readonly WriteNote[]): void {
  const list = store.getStore();
  if (!list) return;
  for (const n of notes)
    if (!list.some((x) => x.code === n.code && x.text === n.text && x.about === n.about)) list.push(n);
}

/** The notes added so far under the current `withWriteNotes`. */
export function writeNotes(): readonly WriteNote[] {
  return store.getStore() ?? [];
}
