/**
 * The one seeded PRNG of mtpkit (mulberry32): sampling, synthetic quantizer data and planted fixtures
 * all draw from it, so the same seed gives the same numbers on every machine.
 */

/** Uniform numbers in [0, 1). */
export type Rng = () => number;

/** mulberry32: small, fast, 32-bit state. */
export function seededRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A normal draw (Box-Muller, one value per two uniforms). */
export function gaussian(rng: Rng, sigma = 1): number {
  const u1 = 1 - rng();
  const u2 = rng();
  return sigma * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}
