/**
 * Throughput of the native float conversions against the TypeScript reference.
 * GB/s counts source bytes. The destination is allocated once, so page faults of fresh memory are
 * not counted. Run after building: `node dist/bench/convert-bench.js [MiB]`.
 */
import { convertFloatsInto, convertFloatsSync, type FloatDType } from '../src/numeric/convert';
import { FLOAT_DTYPE_BYTES } from '../src/numeric/float-bits';
import { convertReference } from '../src/numeric/convert-reference';
import { defaultThreads } from '../src/native/addon';

export interface ConvertBenchRow {
  from: FloatDType;
  to: FloatDType;
  /** async, `threads` workers */
  nativeGBs: number;
  /** async, one worker */
  nativeOneThreadGBs: number;
  referenceGBs: number;
  /** native (async, all threads) / reference */
  speedup: number;
}

const PAIRS: Array<[FloatDType, FloatDType]> = [
  ['F32', 'BF16'],
  ['F32', 'F16'],
  ['BF16', 'F32'],
  ['F16', 'F32'],
  ['BF16', 'F16'],
];

/** Values like model weights: mostly small normals, a few larger ones. */
function sampleF32(n: number): Buffer {
  const f = new Float32Array(n);
  let s = 0x2545f491;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    f[i] = ((s / 2 ** 32 - 0.5) * 0.2) * (i % 97 === 0 ? 300 : 1);
  }
  return Buffer.from(f.buffer);
}

async function bestSeconds(fn: () => unknown, reps: number): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t = process.hrtime.bigint();
    await fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t) / 1e9);
  }
  return best;
}

export async function runConvertBench(mib = 32, threads = defaultThreads()): Promise<ConvertBenchRow[]> {
  const f32 = sampleF32((mib * 1024 * 1024) / 4);
  const sources: Record<FloatDType, Buffer> = {
    F32: f32,
    BF16: convertFloatsSync(f32, 'F32', 'BF16'),
    F16: convertFloatsSync(f32, 'F32', 'F16'),
  };
  const rows: ConvertBenchRow[] = [];
  for (const [from, to] of PAIRS) {
    const src = sources[from];
    const refSrc = src.subarray(0, Math.min(src.length, 4 * 1024 * 1024)); // reference is slow
    const dst = Buffer.alloc((src.length / FLOAT_DTYPE_BYTES[from]) * FLOAT_DTYPE_BYTES[to]);
    const nativeS = await bestSeconds(() => convertFloatsInto(src, from, to, dst, { threads }), 5);
    const oneS = await bestSeconds(() => convertFloatsInto(src, from, to, dst, { threads: 1 }), 5);
    const refS = await bestSeconds(() => convertReference(refSrc, from, to), 2);
    const nativeGBs = src.length / nativeS / 1e9;
    const referenceGBs = refSrc.length / refS / 1e9;
    rows.push({
      from,
      to,
      nativeGBs,
      nativeOneThreadGBs: src.length / oneS / 1e9,
      referenceGBs,
      speedup: nativeGBs / referenceGBs,
    });
  }
  return rows;
}

if (require.main === module) {
  const mib = Number(process.argv[2] ?? 32);
  runConvertBench(mib).then((rows) => {
    console.log(`convert bench: ${mib} MiB source, threads=${defaultThreads() || 'all cores'}`);
    for (const r of rows) {
      console.log(
        `${`${r.from}->${r.to}`.padEnd(10)} native ${r.nativeGBs.toFixed(2)} GB/s` +
          ` (1 thread ${r.nativeOneThreadGBs.toFixed(2)})  reference ${r.referenceGBs.toFixed(3)} GB/s` +
          `  x${r.speedup.toFixed(0)}`,
      );
    }
  });
}
