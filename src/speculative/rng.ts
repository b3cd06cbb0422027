/** Seeded uniform numbers for reproducible sampling: the engine's PRNG as a plain function. */
import { Prng } from '../runtime/sampling';

export type Uniform = () => number;

export function seededUniform(seed: number): Uniform {
  const prng = new Prng(seed);
  return () => prng.next();
}
