export { decodeSpeculative, MAX_VERIFY_TOKENS } from './speculative-decode';
export type { HiddenVariant, SpeculativeOptions, SpeculativeResult } from './speculative-decode';
export { decodePlain } from './plain-decode';
export type { DecodeOptions, DecodeResult } from './plain-decode';
export type { SpecMetrics } from './metrics';
export { GREEDY, tokenDistribution, sampleIndex, argmaxRow, isGreedy } from './sampling';
export type { Sampler } from './sampling';
export { seededUniform } from './rng';
export type { Uniform } from './rng';
