/**
 * Seeded uniform numbers for reproducible sampling: the repository's mulberry32 (enough for decoding
 * and for the statistical tests, which need a fixed seed, not cryptographic quality).
 */
import { seededRng } from '../quant/kernels/synthetic';

export type Uniform = () => number;

export function seededUniform(seed: number): Uniform {
  return seededRng(seed);
}
