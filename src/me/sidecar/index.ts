export * from './base-url';
export * from './errors';
export * from './retry';
export * from './sidecar-client';
export * from './shared';
