/** Public API of the safetensors reader and writer. */
export * from './types';
export * from './header';
export * from './file-source';
export * from './reader';
export * from './shard-names';
export * from './checkpoint';
export * from './writer';
export * from './shard-plan';
export * from './index-file';
