export * from './stockholm-time';
export * from './duration';
export * from './swedish-holidays';
export * from './holiday-deadlines';
export * from './fast-iso';
export * from './month';
