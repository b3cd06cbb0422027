/**
 * Conversion throughput against the I/O floor, in one run: generate a 27B-shaped checkpoint (nv = 3 nk)
 * into a temp folder, then for each page-cache state (warm / cold) and policy (gdn8-speed4, none):
 * time the floor (read every input byte, write as many bytes as the conversion writes, fsync), then the
 * conversion itself in a fresh child process, from the same cache state. ratio = convert / floor.
 * Run: node dist/bench/convert-throughput.js [--target-bytes 2e9] [--policy P]... [--cache warm|cold|both]
 *        [--repeat N] [--threads N] [--keep] [--no-roofline] [--baseline-tree DIR] [--json]          (MTPKIT_BENCH_TARGET_BYTES also sets the size)
 */
import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateCheckpoint } from '../fixtures/generator/write-checkpoint';
import type { VariantName } from '../fixtures/generator/variants';
import { bytesOption, hasFlag, optionValue, optionValues } from './support/cli-args';
import { measureIoFloor, type IoFloor } from './support/io-floor';
import { prepareCache, type CacheMode, type CacheState } from './support/page-cache';
import { planFacts } from './support/plan-facts';
import type { ConvertPhases, ProbeResult, ProbeRusage } from './support/probe-types';
import { QUANT_UNAVAILABLE, runProbe } from './support/run-probe';
import { formatQuantRoofline, quantRoofline, type QuantRoofline } from './support/quant-roofline';
import { folderBytes, makeScratchDir, removeDir, requireFreeSpace } from './support/scratch';

export interface ThroughputOptions {
  /** Tensor bytes of the generated checkpoint; default 2e9. */
  targetBytes?: number;
  /** Default: gdn8-speed4, then none (sanitize / copy only). */
  policies?: string[];
  /** Default: both, warm first. */
  cache?: CacheMode[];
  variant?: VariantName;
  seed?: number;
  /** Converter threads (default: the converter's own default). */
  threads?: number;
  /** Floor + convert pairs per row (default 1); the row reports medians and every pair's ratio. */
  repeat?: number;
  /** Keep the scratch folder (checkpoint) instead of removing it. */
  keep?: boolean;
  /** Skip the quantize-kernel vs read-bandwidth figures (they need the engine kernels in the addon). */
  skipRoofline?: boolean;
  /**
   * Another built checkout (e.g. main) whose converter is timed too, right after ours in every pair,
   * from the same cache state: before/after figures from one run.
   */
  baselineTree?: string;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export interface ThroughputRow {
  policy: string;
  /** false: the conversion failed (see error); `unavailable` when quantization is not wired in yet. */
  ok: boolean;
  unavailable?: boolean;
  error?: string;
  floorCache: CacheState;
  convertCache: CacheState;
  /** The median floor (by seconds) of the repetitions. */
  floor: IoFloor;
  /** Bytes of every file the conversion wrote (shards, sidecar, json, card). */
  outputBytes?: number;
  /** Wall clock of runConvert in the child (excludes node start-up); the median repetition. */
  convertSeconds?: number;
  /** convertSeconds / floor.seconds, medians of the repetitions (target <= 1.3). */
  ratio?: number;
  /** convert / floor of each repetition (floor and convert timed back to back). */
  ratioRuns?: number[];
  /** Input bytes / convertSeconds / 1e9. */
  inputGBps?: number;
  floorInputGBps: number;
  peakRss?: number;
  phases?: ConvertPhases;
  /** CPU time and page faults of each repetition's probe process (where GNU time is available). */
  rusageRuns?: (ProbeRusage | undefined)[];
  /** With baselineTree: its median convert seconds, ratio to the median floor, and each pair's ratio. */
  baseline?: { seconds: number; ratio: number; ratioRuns: number[]; phases?: ConvertPhases; rusageRuns?: (ProbeRusage | undefined)[]; error?: string };
}

export interface ThroughputResult {
  variant: VariantName;
  dims: { hidden: number; layers: number; intermediate: number; linKeyHeads: number; linValueHeads: number };
  /** Bytes of the input shard files (what the floor reads). */
  inputBytes: number;
  shards: number;
  generateSeconds: number;
  cores: number;
  /** Single-thread sha256 speed of this machine (for the output-hash estimate). */
  sha256GBps: number;
  convertRunsIn: string;
  /** The quantizer's GB/s per core against the memory read bandwidth, measured in this run. */
  roofline?: QuantRoofline;
  baselineTree?: string;
  scratchDir?: string;
  rows: ThroughputRow[];
}

const secondsSince = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** sha256 GB/s over an in-memory 64 MiB buffer, best of 3. */
export function sha256Speed(): number {
  const buf = Buffer.alloc(64 * 2 ** 20, 0x5a);
  let best = Infinity;
  for (let i = 0; i < 3; i++) {
    const t0 = process.hrtime.bigint();
    createHash('sha256').update(buf).digest();
    best = Math.min(best, secondsSince(t0));
  }
  return buf.length / best / 1e9;
}

export async function run(opts: ThroughputOptions = {}): Promise<ThroughputResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[throughput] ${l}\n`));
  const targetBytes = opts.targetBytes ?? 2e9;
  const variant = opts.variant ?? 'qwen35-dense';
  const policies = opts.policies ?? ['gdn8-speed4', 'none'];
  const modes = opts.cache ?? ['warm', 'cold'];
  const repeat = opts.repeat ?? 1;
  if (!Number.isInteger(repeat) || repeat < 1) throw new RangeError(`repeat must be a positive integer, got ${repeat}`);
  const scratch = await makeScratchDir('throughput');
  try {
    // Input + the largest output (policy none: about the input) + the floor's file.
    await requireFreeSpace(scratch, 2.2 * targetBytes, 'the throughput bench');
    const input = path.join(scratch, 'input');
    log(`generating ${variant} ~${(targetBytes / 1e9).toFixed(2)} GB into ${input}`);
    const t0 = process.hrtime.bigint();
    const gen = await generateCheckpoint(input, { variant, seed: opts.seed ?? 1, targetBytes });
    const generateSeconds = secondsSince(t0);
    const inputFiles = gen.shards.map((s) => path.join(input, s.file));
    const inputBytes = await fileBytes(inputFiles);
    const sha256GBps = sha256Speed();

    const ctx: Ctx = { input, inputFiles, inputBytes, scratch, sha256GBps, threads: opts.threads, log, baselineTree: opts.baselineTree };
    const rows: ThroughputRow[] = [];
    for (const mode of modes) for (const policy of policies) rows.push(await measureRow(ctx, mode, policy, repeat));
    const roofline = opts.skipRoofline ? undefined : await quantRoofline({ rounds: Math.max(3, repeat) });
    const d = gen.dims;
    return {
      variant,
      dims: { hidden: d.hidden, layers: d.layers, intermediate: d.intermediate, linKeyHeads: d.linKeyHeads, linValueHeads: d.linValueHeads },
      inputBytes,
      shards: gen.shards.length,
      generateSeconds,
      cores: os.cpus().length,
      sha256GBps,
      convertRunsIn: 'child process (fresh node, one per conversion); seconds = runConvert wall clock inside it',
      roofline,
      baselineTree: opts.baselineTree,
      scratchDir: opts.keep ? scratch : undefined,
      rows,
    };
  } finally {
    if (!opts.keep) await removeDir(scratch);
  }
}

interface Ctx {
  input: string;
  inputFiles: string[];
  inputBytes: number;
  scratch: string;
  sha256GBps: number;
  threads?: number;
  log: (line: string) => void;
  baselineTree?: string;
}

const median = <T>(xs: T[], key: (x: T) => number): T => [...xs].sort((a, b) => key(a) - key(b))[(xs.length - 1) >> 1];

/** `repeat` times: set the cache state, time the floor; set it again, time the conversion. */
async function measureRow(c: Ctx, mode: CacheMode, policy: string, repeat: number): Promise<ThroughputRow> {
  const facts = await planFacts(c.input, policy);
  const out = path.join(c.scratch, `out-${policy.replace(/[^\w.-]/g, '_')}`);
  const runs: { floorCache: CacheState; convertCache: CacheState; floor: IoFloor; probe: ProbeResult; outputBytes?: number; base?: ProbeResult }[] = [];
  for (let i = 0; i < repeat; i++) {
    const floorCache = await prepareCache(c.inputFiles, c.inputBytes, mode);
    const floor = await measureIoFloor(c.inputFiles, facts.outputTensorBytes, c.scratch);
    if (floor.readBytes !== c.inputBytes) throw new Error(`floor read ${floor.readBytes} bytes of ${c.inputBytes}`);
    const convertCache = await prepareCache(c.inputFiles, c.inputBytes, mode);
    c.log(`${mode} ${policy} #${i + 1}: floor ${floor.seconds.toFixed(2)} s, converting...`);
    const probe = await runProbe({ source: c.input, out, policy, threads: c.threads });
    const outputBytes = probe.ok ? await folderBytes(out) : undefined;
    await removeDir(out);
    let base: ProbeResult | undefined;
    if (c.baselineTree) {
      await prepareCache(c.inputFiles, c.inputBytes, mode);
      base = await runProbe({ source: c.input, out, policy, threads: c.threads }, c.baselineTree);
      await removeDir(out);
      c.log(`${mode} ${policy} #${i + 1}: baseline ${base.ok ? base.seconds.toFixed(2) + ' s' : 'FAILED: ' + base.error}`);
    }
    runs.push({ floorCache, convertCache, floor, probe, outputBytes, base });
    if (!probe.ok) break;
    c.log(`${mode} ${policy} #${i + 1}: convert ${probe.seconds.toFixed(2)} s, ratio ${(probe.seconds / floor.seconds).toFixed(2)}`);
  }
  const floor = median(runs, (r) => r.floor.seconds).floor;
  const row: ThroughputRow = {
    policy,
    ok: false,
    floorCache: runs[0].floorCache,
    convertCache: runs[0].convertCache,
    floor,
    floorInputGBps: c.inputBytes / floor.readSeconds / 1e9,
  };
  const failed = runs.find((r) => !r.probe.ok)?.probe;
  if (failed && !failed.ok) {
    row.error = failed.error;
    row.unavailable = QUANT_UNAVAILABLE.test(failed.error);
    c.log(`${mode} ${policy}: ${row.unavailable ? 'unavailable' : 'FAILED'}: ${failed.error}`);
    return row;
  }
  const m = median(runs, (r) => (r.probe.ok ? r.probe.seconds : 0));
  if (!m.probe.ok) return row; // unreachable: every run succeeded
  const p = m.probe;
  const outputBytes = m.outputBytes!;
  const bases = runs.map((r) => r.base).filter((b): b is Extract<ProbeResult, { ok: true }> => b !== undefined && b.ok);
  const baseFailed = runs.map((r) => r.base).find((b) => b !== undefined && !b.ok);
  if (c.baselineTree && bases.length) {
    const mb = median(bases, (b) => b.seconds);
    row.baseline = {
      seconds: mb.seconds,
      ratio: mb.seconds / floor.seconds,
      ratioRuns: runs.map((r) => (r.base?.ok ? r.base.seconds : NaN) / r.floor.seconds),
      phases: mb.phases,
      rusageRuns: runs.map((r) => (r.base?.ok ? r.base.rusage : undefined)),
    };
  } else if (baseFailed && !baseFailed.ok) row.baseline = { seconds: NaN, ratio: NaN, ratioRuns: [], error: baseFailed.error };
  return {
    ...row,
    ok: true,
    outputBytes,
    convertSeconds: p.seconds,
    ratio: p.seconds / floor.seconds,
    ratioRuns: runs.map((r) => (r.probe.ok ? r.probe.seconds : NaN) / r.floor.seconds),
    inputGBps: c.inputBytes / p.seconds / 1e9,
    peakRss: p.peakRss,
    phases: p.phases,
    rusageRuns: runs.map((r) => (r.probe.ok ? r.probe.rusage : undefined)),
  };
}

async function fileBytes(files: string[]): Promise<number> {
  let n = 0;
  for (const f of files) n += (await fsp.stat(f)).size;
  return n;
}

const gb = (b: number | undefined) => (b === undefined ? '-' : (b / 1e9).toFixed(3));
const sec = (s: number | undefined) => (s === undefined ? '-' : s.toFixed(2));

export function formatThroughput(r: ThroughputResult): string {
  const d = r.dims;
  const lines = [
    `convert throughput: ${r.variant} H=${d.hidden} layers=${d.layers} I=${d.intermediate} gdn nk=${d.linKeyHeads} nv=${d.linValueHeads}, ` +
      `input ${gb(r.inputBytes)} GB in ${r.shards} shard(s) (generated in ${sec(r.generateSeconds)} s), ${r.cores} cores, sha256 ${r.sha256GBps.toFixed(2)} GB/s`,
    `conversions run in a ${r.convertRunsIn}`,
    'ratio = convert s / floor s (target <= 1.3); sha256 of inputs (read in 8 MiB pieces) and outputs (as written) on the libuv pool, overlapped',
    'cache  policy        out GB  floor s (read+write)  convert s  ratio  in GB/s  peak RSS MB',
  ];
  for (const x of r.rows) {
    const head = `${x.floorCache.mode.padEnd(6)} ${x.policy.padEnd(12)}`;
    const floor = `${sec(x.floor.seconds)} (${sec(x.floor.readSeconds)}+${sec(x.floor.writeSeconds)})`.padEnd(20);
    if (!x.ok) {
      lines.push(`${head}  ${'-'.padStart(6)}  ${floor}  ${x.unavailable ? 'unavailable' : 'FAILED'}: ${x.error}`);
      continue;
    }
    lines.push(
      `${head}  ${gb(x.outputBytes).padStart(6)}  ${floor}  ${sec(x.convertSeconds).padStart(9)}  ${sec(x.ratio).padStart(5)}` +
        `  ${sec(x.inputGBps).padStart(7)}` +
        `  ${((x.peakRss ?? 0) / 2 ** 20).toFixed(0).padStart(11)}`,
    );
  }
  if (r.rows.some((x) => (x.ratioRuns?.length ?? 0) > 1)) {
    lines.push('ratio of each floor + convert pair (medians above):');
    for (const x of r.rows) if (x.ratioRuns) lines.push(`  ${x.floorCache.mode} ${x.policy}: ${x.ratioRuns.map((v) => v.toFixed(2)).join(' ')}`);
  }
  if (r.baselineTree) {
    lines.push(`baseline converter (${r.baselineTree}), timed right after ours in each pair from the same cache state: median s, ratio, each pair's ratio`);
    for (const x of r.rows) {
      const b = x.baseline;
      if (!b) continue;
      lines.push(
        b.error
          ? `  ${x.floorCache.mode} ${x.policy}: FAILED: ${b.error}`
          : `  ${x.floorCache.mode} ${x.policy}: ${sec(b.seconds)} s, ratio ${sec(b.ratio)} (ours ${sec(x.ratio)}); pairs ${b.ratioRuns.map((v) => v.toFixed(2)).join(' ')}`,
      );
    }
  }
  lines.push('cache state before each timed step (method, input resident in page cache):');
  for (const x of r.rows) {
    const st = (c: CacheState) => `${c.method}, ${c.residentFraction === undefined ? '?' : (100 * c.residentFraction).toFixed(0) + '%'}`;
    lines.push(`  ${x.floorCache.mode} ${x.policy}: floor ${st(x.floorCache)}; convert ${st(x.convertCache)}`);
  }
  lines.push(
    'busy time per step (s; the steps overlap: tensor i+1 is read while i is computed and i-1 written, inputs hashed beside; write includes hashing it):',
    '  hashInput (pool; inputs hashed from the reads count under read) | execute: read, quantize, write, shardFsync | finishArtifact | other',
  );
  for (const x of r.rows) {
    const busy = (label: string, p: ConvertPhases | undefined) =>
      p &&
      lines.push(
        `  ${x.floorCache.mode} ${label}: ${sec(p.hashInput)} | ${sec(p.execute)}: ${sec(p.read)}, ${sec(p.quantize)}, ${sec(p.write)}, ` +
          `${sec(p.shardFsync)} | ${sec(p.finishArtifact)} | ${sec(p.other)}`,
      );
    busy(x.policy, x.phases);
    busy(`${x.policy} (baseline)`, x.baseline?.phases);
  }
  if (r.rows.some((x) => x.rusageRuns?.some(Boolean))) {
    lines.push('CPU of each conversion process (GNU time, node start-up included): user s / sys s / minor page faults (thousands)');
    const ru = (u: ProbeRusage | undefined) => (u ? `${sec(u.userSeconds)}/${sec(u.sysSeconds)}/${(u.minorFaults / 1e3).toFixed(0)}k` : '-');
    for (const x of r.rows) {
      if (x.rusageRuns) lines.push(`  ${x.floorCache.mode} ${x.policy}: ${x.rusageRuns.map(ru).join('  ')}`);
      if (x.baseline?.rusageRuns) lines.push(`  ${x.floorCache.mode} ${x.policy} (baseline): ${x.baseline.rusageRuns.map(ru).join('  ')}`);
    }
  }
  if (r.roofline) lines.push(...formatQuantRoofline(r.roofline));
  if (r.scratchDir) lines.push(`kept: ${r.scratchDir}`);
  return lines.join('\n');
}

export function parseCacheModes(v: string | undefined): CacheMode[] | undefined {
  if (v === undefined) return undefined;
  if (v === 'both') return ['warm', 'cold'];
  if (v === 'warm' || v === 'cold') return [v];
  throw new RangeError(`--cache: expected warm, cold or both, got '${v}'`);
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const threads = optionValue(args, 'threads');
  const policies = optionValues(args, 'policy');
  run({
    targetBytes: bytesOption(args, 'target-bytes', 'MTPKIT_BENCH_TARGET_BYTES'),
    policies: policies.length ? policies : undefined,
    cache: parseCacheModes(optionValue(args, 'cache')),
    threads: threads === undefined ? undefined : Number(threads),
    repeat: Number(optionValue(args, 'repeat') ?? 1),
    keep: hasFlag(args, 'keep'),
    skipRoofline: hasFlag(args, 'no-roofline'),
    baselineTree: optionValue(args, 'baseline-tree'),
  }).then(
    (r) => console.log(hasFlag(args, 'json') ? JSON.stringify(r, null, 2) : formatThroughput(r)),
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
