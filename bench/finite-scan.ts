/**
 * Cost of the NaN / Inf scan every float source tensor gets during conversion (src/numeric/non-finite.ts),
 * as ratios taken in one run against two things the conversion already does to the same bytes: a plain
 * copy (Buffer.copy, the memory floor) and the native BF16 -> F32 conversion. Reports min and median of
 * `--repeat` runs; the machine's cores are shared, so read the ratios, not the absolute times.
 * `node dist/bench/finite-scan.js [--mib 256] [--repeat 7] [--json]`
 */
import { firstNonFinite } from '../src/numeric/non-finite';
import { convertFloatsInto } from '../src/numeric/convert';
import { hasFlag, optionValue } from './support/cli-args';

export interface FiniteScanResult {
  mib: number;
  repeat: number;
  /** Seconds, min and median, per measured operation. */
  seconds: Record<string, { min: number; median: number }>;
  /** scan time / copy time and scan time / convert time, per run, min and median. */
  ratios: Record<string, { min: number; median: number }>;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)] };
};

async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

export async function run(opts: { mib?: number; repeat?: number } = {}): Promise<FiniteScanResult> {
  const mib = opts.mib ?? 256;
  const repeat = opts.repeat ?? 7;
  const n = (mib << 20) / 2;
  const src = Buffer.alloc(n * 2);
  // Finite bf16 values like weights: random mantissas, exponents around 2^-6.
  let s = 0x9e3779b9;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    src.writeUInt16LE(0x3c00 | (s >>> 25) | ((s & 1) << 15), 2 * i);
  }
  const copy = Buffer.alloc(src.length);
  const f32 = Buffer.alloc(n * 4);
  const ops: Record<string, () => Promise<unknown> | unknown> = {
    copy: () => src.copy(copy),
    'convert bf16->f32 (all threads)': () => convertFloatsInto(src, 'BF16', 'F32', f32, { threads: 0 }),
    'scan (all threads)': () => firstNonFinite(src, 'BF16', 0),
    'scan (1 thread)': () => firstNonFinite(src, 'BF16', 1),
  };
  for (const fn of Object.values(ops)) await fn(); // warm-up: page faults, thread start
  const runs: Record<string, number[]> = Object.fromEntries(Object.keys(ops).map((k) => [k, []]));
  const ratio: Record<string, number[]> = { 'scan / copy': [], 'scan / convert': [], 'scan 1 thread / copy': [] };
  for (let r = 0; r < repeat; r++) {
    const t: Record<string, number> = {};
    for (const [k, fn] of Object.entries(ops)) runs[k].push((t[k] = await time(fn)));
    ratio['scan / copy'].push(t['scan (all threads)'] / t.copy);
    ratio['scan / convert'].push(t['scan (all threads)'] / t['convert bf16->f32 (all threads)']);
    ratio['scan 1 thread / copy'].push(t['scan (1 thread)'] / t.copy);
  }
  return {
    mib,
    repeat,
    seconds: Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, stats(v)])),
    ratios: Object.fromEntries(Object.entries(ratio).map(([k, v]) => [k, stats(v)])),
  };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  run({ mib: Number(optionValue(args, 'mib') ?? 256), repeat: Number(optionValue(args, 'repeat') ?? 7) }).then((r) => {
    if (hasFlag(args, 'json')) {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return;
    }
    process.stdout.write(`NaN/Inf scan of ${r.mib} MiB of BF16, ${r.repeat} runs (min / median)\n`);
    for (const [k, v] of Object.entries(r.seconds)) process.stdout.write(`  ${k.padEnd(34)} ${(v.min * 1e3).toFixed(1)} / ${(v.median * 1e3).toFixed(1)} ms  (${((r.mib / 1024) / v.median).toFixed(2)} GiB/s median)\n`);
    for (const [k, v] of Object.entries(r.ratios)) process.stdout.write(`  ratio ${k.padEnd(28)} ${v.min.toFixed(2)} / ${v.median.toFixed(2)}\n`);
  });
}
