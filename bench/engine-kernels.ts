/**
 * Engine linear kernels against this machine's memory roofline, in one run:
 *  - read bandwidth: a native streaming read of a buffer much larger than the last-level cache;
 *  - qlinearForward GB/s (bytes of weights + scales + biases / time) for Qwen3.5-4B-shaped matrices,
 *    affine 4-bit and 8-bit, group 64, bf16 scales (each with float32 and with int8 'q8' activations;
 *    6-bit, standing for 3/5/6, with 'q8' only),
 *    and bf16 rows, at 1 and 2 threads, as a fraction
 *    of the read bandwidth at the same thread count (aim: >= 0.70 at M = 1);
 *  - beta(M) = time(M rows of x) / time(1) for M = 1..5 (aim: beta(2) <= 1.15, beta(4) <= 1.40),
 *    and the cost of each row beyond the first, (beta(M) - 1) / (M - 1), in units of time(1).
 * Every figure is `repeat` timed calls (after one warm-up): min and median. Matrices smaller than
 * `--stream-mib` are stacked in copies that the calls cycle through, so each call reads from memory
 * as a decode step does, not from cache.
 * `--only <text>` keeps the matrices whose label contains the text (e.g. "q8", "4-bit g64 bf16 q8 mlp").
 * Run: node dist/bench/engine-kernels.js [--repeat 5] [--bw-mib 1024] [--stream-mib 256] [--quick] [--only <text>] [--json]
 */
import { randomFillSync } from 'crypto';
import * as os from 'os';
import type { ActivationMode } from '../src/runtime/engine/activations';
import { kernelIsa, qlinearBytes, readBandwidthRuns, timeQlinearForward, type QLinearSpec } from '../src/runtime/engine/kernels';
import { f32ToBf16 } from '../src/numeric/float-bits';

export interface Stat {
  min: number;
  median: number;
}

export interface KernelFigure {
  label: string;
  rows: number;
  cols: number;
  threads: number;
  /** Bytes one call reads. */
  bytes: number;
  /** Seconds per call at M = 1..5 (index M - 1). */
  seconds: Stat[];
  /** bytes / seconds at M = 1, in GB/s (1e9): the fastest call and the median call. */
  gbPerSec: { best: number; median: number };
  /** Median GB/s at M = 1 / median read bandwidth at the same thread count. */
  roofline: number;
  /** Median time(M) / median time(1), M = 1..5. */
  beta: number[];
  /** (beta(M) - 1) / (M - 1), M = 2..5: the cost of each row beyond the first, in units of time(1). */
  perRow: number[];
  /**
   * The same from process CPU time (seconds = CPU seconds / threads): on a machine shared with other
   * work, time the process was not running is left out (memory contention from others is not).
   */
  cpu: { gbPerSec: number; roofline: number; beta: number[] };
}

export interface EngineKernelsResult {
  isa: string;
  cores: number;
  repeat: number;
  /** GB/s of the passes (min and median), from wall-clock and from CPU time / threads. */
  readBandwidth: { threads: number; gbPerSec: Stat; cpuGbPerSec: Stat }[];
  figures: KernelFigure[];
}

function stat(v: number[]): Stat {
  const s = [...v].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { min: s[0], median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2 };
}

function bf16Fill(n: number, value: (i: number) => number): Buffer {
  const b = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) b.writeUInt16LE(f32ToBf16(value(i)), i * 2);
  return b;
}

/** A matrix with random codes and plausible scales (values do not change the speed), `copies` times stacked. */
function makeSpec(format: 'affine' | 'BF16', bits: number, rows: number, cols: number, copies: number, activations: ActivationMode): QLinearSpec {
  const total = rows * copies;
  if (format === 'BF16') {
    const weight = Buffer.alloc(total * cols * 2);
    randomFillSync(weight);
    for (let i = 1; i < weight.length; i += 2) weight[i] &= 0xbf; // keep exponents small: finite values
    return { format, rows: total, cols, weight };
  }
  const groups = (total * cols) / 64;
  const weight = Buffer.alloc((total * cols * bits) / 8);
  randomFillSync(weight);
  return {
    format,
    rows: total,
    cols,
    bits,
    groupSize: 64,
    scalesDType: 'BF16',
    weight,
    scales: bf16Fill(groups, (i) => 0.001 + (i % 13) * 1e-4),
    biases: bf16Fill(groups, (i) => -0.01 - (i % 7) * 1e-3),
    activations,
  };
}

export interface BenchOptions {
  repeat?: number;
  bwMiB?: number;
  streamMiB?: number;
  quick?: boolean;
  /** Keep only the matrices whose label contains this text. */
  only?: string;
}

export function run(opts: BenchOptions = {}): EngineKernelsResult {
  const repeat = opts.repeat ?? 5;
  const streamBytes = (opts.streamMiB ?? 256) * 2 ** 20;
  const cores = os.cpus().length;
  const threadCounts = cores > 1 ? [1, 2] : [1];
  const readBandwidth = threadCounts.map((threads) => {
    const r = readBandwidthRuns((opts.bwMiB ?? 1024) * 2 ** 20, threads, repeat);
    return {
      threads,
      gbPerSec: stat(r.wall.map((s) => r.bytes / s / 1e9)),
      cpuGbPerSec: stat(r.cpu.map((s) => (r.bytes * threads) / s / 1e9)),
    };
  });
  const shapes: [string, number, number][] = opts.quick
    ? [['mlp up/gate', 9216, 2560]]
    : [
        ['mlp up/gate', 9216, 2560],
        ['mlp down', 2560, 9216],
        ['attn/gdn proj', 8192, 2560],
        ['tied head', 248320, 2560],
      ];
  const formats: [string, 'affine' | 'BF16', number, ActivationMode][] = [
    ['affine 4-bit g64 bf16 f32', 'affine', 4, 'f32'],
    ['affine 4-bit g64 bf16 q8', 'affine', 4, 'q8'],
    ['affine 6-bit g64 bf16 q8', 'affine', 6, 'q8'], // 3/5/6 bits share one kernel (codes straddle bytes)
    ['affine 8-bit g64 bf16 f32', 'affine', 8, 'f32'],
    ['affine 8-bit g64 bf16 q8', 'affine', 8, 'q8'],
    ['bf16', 'BF16', 16, 'f32'],
  ];
  const figures: KernelFigure[] = [];
  for (const [fname, format, bits, act] of formats) {
    for (const [sname, rows, cols] of shapes) {
      if (format === 'BF16' && rows > 10000) continue; // the heads of both policies are quantized
      if (opts.only !== undefined && !`${fname} ${sname}`.includes(opts.only)) continue;
      const one = qlinearBytes(makeSpec(format, bits, 8, cols, 1, act)) / 8;
      const copies = Math.max(1, Math.ceil(streamBytes / (one * rows)));
      const spec = makeSpec(format, bits, rows, cols, copies, act);
      const bytes = qlinearBytes(spec) / copies;
      const x = new Float32Array(5 * cols).map((_, i) => Math.sin(i * 0.37));
      for (const threads of threadCounts) {
        const seconds: Stat[] = [];
        const cpuSeconds: number[] = [];
        for (let m = 1; m <= 5; m++) {
          const xs = x.subarray(0, m * cols);
          timeQlinearForward(spec, xs, m, threads, 1, copies); // warm-up
          const t = timeQlinearForward(spec, xs, m, threads, Math.max(repeat, copies), copies);
          seconds.push(stat(t.wall));
          cpuSeconds.push(stat(t.cpu).median / threads);
        }
        const rb = readBandwidth.find((b) => b.threads === threads);
        const bw = rb?.gbPerSec.median ?? NaN;
        const cpuGb = bytes / cpuSeconds[0] / 1e9;
        const gbPerSec = { best: bytes / seconds[0].min / 1e9, median: bytes / seconds[0].median / 1e9 };
        const beta = seconds.map((s) => s.median / seconds[0].median);
        figures.push({
          label: `${fname} ${sname}`,
          rows,
          cols,
          threads,
          bytes,
          seconds,
          gbPerSec,
          roofline: gbPerSec.median / bw,
          beta,
          perRow: beta.slice(1).map((b, i) => (b - 1) / (i + 1)),
          cpu: {
            gbPerSec: cpuGb,
            roofline: cpuGb / (rb?.cpuGbPerSec.median ?? NaN),
            beta: cpuSeconds.map((s) => s / cpuSeconds[0]),
          },
        });
      }
    }
  }
  return { isa: kernelIsa(), cores, repeat, readBandwidth, figures };
}

function parseArgs(argv: string[]): BenchOptions & { json: boolean } {
  const value = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const num = (flag: string): number | undefined => {
    const v = value(flag);
    return v === undefined ? undefined : Number(v);
  };
  return {
    repeat: num('--repeat'),
    bwMiB: num('--bw-mib'),
    streamMiB: num('--stream-mib'),
    quick: argv.includes('--quick'),
    only: value('--only'),
    json: argv.includes('--json'),
  };
}

if (require.main === module) {
  const o = parseArgs(process.argv.slice(2));
  const r = run(o);
  if (o.json) {
    console.log(JSON.stringify(r, null, 2));
  } else {
    console.log(`engine kernels (${r.isa}), ${r.cores} cores, ${r.repeat} timed calls per figure (min / median)`);
    for (const b of r.readBandwidth) {
      console.log(
        `  read bandwidth, ${b.threads} thread(s): ${b.gbPerSec.median.toFixed(2)} GB/s median (slowest pass ${b.gbPerSec.min.toFixed(2)});` +
          ` by CPU time ${b.cpuGbPerSec.median.toFixed(2)} GB/s`,
      );
    }
    const betas = (v: number[]): string => v.slice(1).map((x) => x.toFixed(2)).join(' ');
    console.log(
      '  matrix                                            thr   MiB | wall: GB/s best/median  roof  beta(2..5)      +row(2..5)      | cpu: GB/s  roof  beta(2..5)',
    );
    for (const f of r.figures) {
      console.log(
        `  ${`${f.label} [${f.rows}x${f.cols}]`.padEnd(48)} ${String(f.threads).padStart(3)} ${(f.bytes / 2 ** 20).toFixed(1).padStart(5)} |` +
          ` ${f.gbPerSec.best.toFixed(2).padStart(6)} / ${f.gbPerSec.median.toFixed(2).padStart(6)}  ${f.roofline.toFixed(2)}  ${betas(f.beta)}  ${f.perRow.map((x) => x.toFixed(2)).join(' ')} |` +
          ` ${f.cpu.gbPerSec.toFixed(2).padStart(6)}  ${f.cpu.roofline.toFixed(2)}  ${betas(f.cpu.beta)}`,
      );
    }
  }
}
