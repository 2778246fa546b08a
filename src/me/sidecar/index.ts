export * from './client';
export * from './errors';
export * from './models';
export * from './retry';
