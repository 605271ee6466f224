/** The discharge-coordination engine (docs/engine.md). */
export { evaluateStay } from './evaluate';
export { partyKey } from './parties';
export * from './types';
