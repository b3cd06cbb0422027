/**
 * The one place that loads the compiled addon (built by `npm ci` through node-gyp into native/build).
 * Kernel families declare the typed shape of the functions they use and call `nativeAddon<T>()`.
 */
import * as fs from 'fs';
import * as path from 'path';
import { InputError, MtpkitError, type ErrorPlace } from '../errors';

let cached: unknown;

function candidatePaths(): string[] {
  // Compiled code lives in dist/src/native, sources in src/native: look upwards for native/build.
  const out: string[] = [];
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    out.push(path.join(dir, 'native', 'build', 'Release', 'mtpkit_native.node'));
    dir = path.dirname(dir);
  }
  return out;
}

export function nativeAddon<T>(): T {
  if (cached === undefined) {
    const found = candidatePaths().find((p) => fs.existsSync(p));
    if (!found) {
      throw new MtpkitError(
        'native addon mtpkit_native.node not found; run `npm ci` (or `npm run build`) to compile it',
      );
    }
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    cached = require(found);
  }
  return cached as T;
}

/** Default worker-thread count for native kernels: MTPKIT_THREADS (0 = all cores, as documented), else every core. */
export function defaultThreads(): number {
  const env = process.env.MTPKIT_THREADS;
  if (env !== undefined && env.trim() !== '') {
    const n = /^\s*\d+\s*$/.test(env) ? Number(env) : NaN;
    if (!Number.isSafeInteger(n)) {
      throw new InputError(`MTPKIT_THREADS takes a whole number of threads, 0 for all cores (got '${env}')`);
    }
    return n;
  }
  return 0; // 0 = let the native side use hardware_concurrency()
}

/** The thread count a kernel call uses: an explicit positive count, else the default (0 = all cores). */
export function resolveThreads(threads: number | undefined, place: ErrorPlace = {}): number {
  if (threads === undefined || threads === 0) return defaultThreads();
  if (!Number.isInteger(threads) || threads < 0) {
    throw new InputError(`threads must be a non-negative integer (0 = all cores), got ${threads}`, place);
  }
  return threads;
}
