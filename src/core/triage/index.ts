export * from './categories';
export * from './colour-triage';
export * from './readiness';
