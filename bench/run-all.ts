/**
 * `npm run bench`: every bench's run(), one table of figures. Default sizes are issue 5's (throughput on
 * 2 GB, memory on 1 GB and 4 GB: about 4-7 min on 2 cores, ~9 GB of temp disk) plus partitioned conversion
 * (1 GB, N = 2 and 4: about 2 min more); --quick halves them (parts: 0.5 GB, N = 2, about 1 min).
 * node dist/bench/run-all.js [--quick] [--only quant,float-convert,throughput,memory,parts] [--json] [--details]
 *   [--target-bytes 2e9] [--sizes 1e9,4e9] [--cache warm|cold|both] [--repeat N] [--quant-mb 64] [--convert-mib 32]
 * Progress goes to stderr; the table (or JSON) to stdout.
 */
import { runConvertBench, type ConvertBenchRow } from './convert-bench';
import { formatMemory, parseSizes, run as runMemory, type MemoryResult } from './convert-memory';
import { formatThroughput, parseCacheModes, run as runThroughput, type ThroughputResult } from './convert-throughput';
import { run as runQuant, type QuantBenchResult } from './quant-bench';
import { renderParts, run as runParts, type PartsResult } from './convert-parts';
import { bytesOption, hasFlag, optionValue } from './support/cli-args';

export const BENCHES = ['quant', 'float-convert', 'throughput', 'memory', 'parts'] as const;
export type BenchName = (typeof BENCHES)[number];

export interface RunAllOptions {
  only?: BenchName[];
  quick?: boolean;
  /** Throughput checkpoint size; default 2e9 (1e9 with quick). */
  targetBytes?: number;
  /** Memory checkpoint sizes; default [1e9, 4e9] ([500e6, 2e9] with quick). */
  sizes?: number[];
  cache?: ('warm' | 'cold')[];
  repeat?: number;
  quantMegabytes?: number;
  convertMib?: number;
}

export interface RunAllResult {
  quant?: QuantBenchResult;
  floatConvert?: ConvertBenchRow[];
  throughput?: ThroughputResult;
  memory?: MemoryResult;
  parts?: PartsResult;
  /** Benches that threw, with the message. */
  errors: Partial<Record<BenchName, string>>;
  seconds: Partial<Record<BenchName, number>>;
}

/** One line of the summary table. */
export interface Figure {
  bench: BenchName;
  case: string;
  figure: string;
  value: string;
}

export async function run(opts: RunAllOptions = {}): Promise<RunAllResult> {
  const only = new Set(opts.only ?? BENCHES);
  const result: RunAllResult = { errors: {}, seconds: {} };
  const step = async (name: BenchName, fn: () => Promise<void>) => {
    if (!only.has(name)) return;
    process.stderr.write(`[run-all] ${name}...\n`);
    const t0 = Date.now();
    try {
      await fn();
    } catch (e) {
      result.errors[name] = String((e as Error)?.message ?? e);
      process.stderr.write(`[run-all] ${name} failed: ${result.errors[name]}\n`);
    }
    result.seconds[name] = (Date.now() - t0) / 1000;
  };
  await step('quant', async () => void (result.quant = await runQuant({ megabytes: opts.quantMegabytes })));
  await step('float-convert', async () => void (result.floatConvert = await runConvertBench(opts.convertMib)));
  await step('throughput', async () => {
    result.throughput = await runThroughput({
      targetBytes: opts.targetBytes ?? (opts.quick ? 1e9 : 2e9),
      cache: opts.cache,
      repeat: opts.repeat,
    });
  });
  await step('memory', async () => {
    result.memory = await runMemory({ sizes: opts.sizes ?? (opts.quick ? [500e6, 2e9] : [1e9, 4e9]) });
  });
  // Smaller than its own default (2 GB, N = 2, 4, 8: ~6 min): N = 2, 4 on 1 GB is about 2 min on 2 cores.
  await step('parts', async () => {
    result.parts = await runParts({ targetBytes: opts.quick ? 500e6 : 1e9, parts: opts.quick ? [2] : [2, 4] });
  });
  return result;
}

const f2 = (x: number | undefined) => (x === undefined ? '-' : x.toFixed(2));
const mib = (b: number | undefined) => (b === undefined ? '-' : (b / 2 ** 20).toFixed(0));

export function figures(r: RunAllResult): Figure[] {
  const out: Figure[] = [];
  for (const q of r.quant?.figures ?? []) {
    out.push({ bench: 'quant', case: `affine ${q.bits}-bit ${q.rounding} threads=${q.threads}`, figure: 'GB/s (x 1 GB/s/core)', value: `${f2(q.gbPerSec)} (x${f2(q.ratioToFloor)})` });
  }
  for (const c of r.floatConvert ?? []) {
    out.push({ bench: 'float-convert', case: `${c.from}->${c.to}`, figure: 'native GB/s (1 thread)', value: `${f2(c.nativeGBs)} (${f2(c.nativeOneThreadGBs)})` });
  }
  const t = r.throughput;
  for (const x of t?.rows ?? []) {
    const c = `${(t!.inputBytes / 1e9).toFixed(2)} GB ${x.floorCache.mode} ${x.policy}`;
    if (!x.ok) {
      out.push({ bench: 'throughput', case: c, figure: 'convert', value: x.unavailable ? 'unavailable' : `FAILED: ${x.error}` });
      continue;
    }
    out.push({ bench: 'throughput', case: c, figure: 'convert s / floor s', value: `${f2(x.convertSeconds)} / ${f2(x.floor.seconds)}` });
    out.push({ bench: 'throughput', case: c, figure: 'ratio (target <= 1.3)', value: f2(x.ratio) });
    out.push({ bench: 'throughput', case: c, figure: 'input GB/s', value: f2(x.inputGBps) });
  }
  const m = r.memory;
  for (const x of m?.rows ?? []) {
    const c = `${(x.inputBytes / 1e9).toFixed(2)} GB H=${x.hidden} L=${x.layers} ${x.policy}`;
    if (!x.ok) {
      out.push({ bench: 'memory', case: c, figure: 'convert', value: `FAILED: ${x.error}` });
      continue;
    }
    out.push({ bench: 'memory', case: c, figure: 'RSS before / peak MiB', value: `${mib(x.rssBefore)} / ${mib(x.peakRss)}` });
    out.push({ bench: 'memory', case: c, figure: 'growth / largest tensor MiB', value: `${mib(x.peakGrowth)} / ${mib(Math.max(x.largestInputTensor.bytes, x.largestOutputUnit.bytes))} = ${f2(x.growthPerLargestTensor)}` });
  }
  if (m?.growthRatioBiggestToSmallest !== undefined) {
    out.push({ bench: 'memory', case: 'biggest / smallest model', figure: 'peak growth ratio (~1)', value: f2(m.growthRatioBiggestToSmallest) });
  }
  const p = r.parts;
  for (const row of p?.rows ?? []) {
    const c = `${(p!.inputBytes / 1e9).toFixed(2)} GB ${p!.policy} N=${row.parts}`;
    out.push({ bench: 'parts', case: c, figure: 'sum of part downloads / single', value: `${(row.fetchRatio * 100).toFixed(2)} %` });
    out.push({ bench: 'parts', case: c, figure: 'max part peak disk / single peak', value: f2(row.maxPeakDiskBytes / p!.single.peakDiskBytes) });
    out.push({ bench: 'parts', case: c, figure: 'parts within disk bound; identical', value: `${row.perPart.every((x) => x.withinBound) ? 'yes' : 'NO'}; ${row.identical ? 'yes' : 'NO'}` });
  }
  for (const [bench, msg] of Object.entries(r.errors)) out.push({ bench: bench as BenchName, case: '-', figure: 'error', value: msg! });
  return out;
}

export function formatTable(rows: Figure[]): string {
  const head: Figure = { bench: 'bench' as BenchName, case: 'case', figure: 'figure', value: 'value' };
  const all = [head, ...rows];
  const w = (k: keyof Figure) => Math.max(...all.map((r) => r[k].length));
  const [wb, wc, wf] = [w('bench'), w('case'), w('figure')];
  return all.map((r) => `${r.bench.padEnd(wb)}  ${r.case.padEnd(wc)}  ${r.figure.padEnd(wf)}  ${r.value}`).join('\n');
}

function parseOnly(v: string | undefined): BenchName[] | undefined {
  if (!v) return undefined;
  const names = v.split(',');
  for (const n of names) if (!(BENCHES as readonly string[]).includes(n)) throw new RangeError(`--only: unknown bench '${n}' (${BENCHES.join(', ')})`);
  return names as BenchName[];
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const num = (name: string) => {
    const v = optionValue(args, name);
    return v === undefined ? undefined : Number(v);
  };
  run({
    only: parseOnly(optionValue(args, 'only')),
    quick: hasFlag(args, 'quick'),
    targetBytes: bytesOption(args, 'target-bytes', 'MTPKIT_BENCH_TARGET_BYTES'),
    sizes: parseSizes(optionValue(args, 'sizes') ?? process.env.MTPKIT_BENCH_MEMORY_SIZES),
    cache: parseCacheModes(optionValue(args, 'cache')),
    repeat: num('repeat'),
    quantMegabytes: num('quant-mb'),
    convertMib: num('convert-mib'),
  }).then(
    (r) => {
      if (hasFlag(args, 'json')) {
        console.log(JSON.stringify({ ...r, figures: figures(r) }, null, 2));
        return;
      }
      console.log(formatTable(figures(r)));
      if (hasFlag(args, 'details')) {
        if (r.throughput) console.log('\n' + formatThroughput(r.throughput));
        if (r.memory) console.log('\n' + formatMemory(r.memory));
        if (r.parts) console.log('\n' + renderParts(r.parts).join('\n'));
      }
      const took = Object.entries(r.seconds).map(([k, s]) => `${k} ${s!.toFixed(0)} s`).join(', ');
      console.log(`\n(${took}; details: --details or each bench's own CLI, see bench/README.md)`);
      if (Object.keys(r.errors).length) process.exitCode = 1;
    },
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
