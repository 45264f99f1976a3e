export * from './bytes.js';
export * from './crc32.js';
export * from './limits.js';
export * from './units.js';
export * from './image-info.js';
export * from './coding-params.js';
export * from './container.js';
export * from './inspect.js';
