/**
 * Native affine quantizer throughput on bf16 input (GB/s of input bytes), 4- and 8-bit, group 64,
 * on 1 thread and on every core, against the project floor of 1 GB/s per core.
 * Run: node dist/bench/quant-bench.js [--mb 64] [--json]
 */
import * as os from 'os';
import { f32ToBf16 } from '../src/numeric/float-bits';
import { quantize } from '../src/quant/kernels';
import { gaussian, seededRng } from '../src/quant/kernels/synthetic';

export interface QuantBenchFigure {
  bits: number;
  rounding: 'metal' | 'cpu';
  threads: number;
  /** Input bytes per wall-clock second (best of 5 runs). */
  gbPerSec: number;
  /** gbPerSec / (1 GB/s * threads): >= 1 meets the floor. */
  ratioToFloor: number;
  /** Input bytes per CPU-second of the process (all threads) in that run: per-core speed, robust to a busy machine. */
  gbPerCpuSec: number;
}

export interface QuantBenchResult {
  inputBytes: number;
  cores: number;
  figures: QuantBenchFigure[];
}

/** bf16 N(0, 0.02^2) data from a seeded generator. */
function bf16Data(elements: number): Buffer {
  const rng = seededRng(12345);
  const buf = Buffer.alloc(elements * 2);
  for (let i = 0; i < elements; i++) buf.writeUInt16LE(f32ToBf16(gaussian(rng, 0.02)), i * 2);
  return buf;
}

async function timeOne(
  data: Buffer,
  cols: number,
  bits: number,
  rounding: 'metal' | 'cpu',
  threads: number,
  reps = 5,
): Promise<{ wall: number; cpu: number }> {
  const opts = { dtype: 'BF16' as const, shape: [data.length / 2 / cols, cols], mode: 'affine' as const, bits, groupSize: 64, rounding, threads };
  await quantize(data, opts); // warm-up
  let best = { wall: Infinity, cpu: Infinity };
  for (let rep = 0; rep < reps; rep++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await quantize(data, opts);
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    if (wall < best.wall) best = { wall, cpu: (c.user + c.system) / 1e6 };
  }
  return best;
}

export async function run(opts: { megabytes?: number } = {}): Promise<QuantBenchResult> {
  const cols = 4096;
  const bytes = Math.max(1, Math.round(opts.megabytes ?? 64)) * 1024 * 1024;
  const data = bf16Data(Math.floor(bytes / 2 / cols) * cols);
  const cores = os.cpus().length;
  const figures: QuantBenchFigure[] = [];
  // Warm up every variant once first: the first large outputs of a process pay for fresh pages
  // (page faults) that later allocations reuse, which would penalize whichever config runs first.
  for (const bits of [4, 8]) for (const rounding of ['metal', 'cpu'] as const) await timeOne(data, cols, bits, rounding, 1, 1);
  for (const bits of [4, 8]) {
    for (const rounding of ['metal', 'cpu'] as const) {
      for (const threads of cores > 1 ? [1, cores] : [1]) {
        const t = await timeOne(data, cols, bits, rounding, threads);
        const gbPerSec = data.length / t.wall / 1e9;
        figures.push({ bits, rounding, threads, gbPerSec, ratioToFloor: gbPerSec / threads, gbPerCpuSec: data.length / t.cpu / 1e9 });
      }
    }
  }
  return { inputBytes: data.length, cores, figures };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const mbAt = args.indexOf('--mb');
  const megabytes = mbAt >= 0 ? Number(args[mbAt + 1]) : undefined;
  run({ megabytes }).then(
    (r) => {
      if (args.includes('--json')) {
        console.log(JSON.stringify(r, null, 2));
        return;
      }
      console.log(`native affine quantize, bf16 input ${(r.inputBytes / 2 ** 20).toFixed(0)} MiB, group 64, ${r.cores} cores`);
      for (const f of r.figures) {
        console.log(
          `  ${f.bits}-bit ${f.rounding.padEnd(5)} threads=${f.threads}: ${f.gbPerSec.toFixed(2)} GB/s` +
            `  (${f.ratioToFloor.toFixed(2)}x the 1 GB/s-per-core floor; ${f.gbPerCpuSec.toFixed(2)} GB per CPU-second)`,
        );
      }
    },
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
