/**
 * Partitioned conversion (issue 14) on the 27B-shaped benchmark checkpoint, served by the loopback Hub:
 * one machine (`mtpkit convert REPO OUT`), then N parts (`mtpkit convert REPO OUT --part i/N`), each a
 * fresh child process with its own HF cache (as on its own machine), then `mtpkit assemble`. Measures
 * the bytes the server sent to each process and each process's peak disk (its HF cache + its output,
 * polled every 50 ms), and checks that the assembled artifact equals the single-machine one.
 * Figures: sum of part downloads / single download (target: within 2 %), and each part's peak disk vs
 * its share (single-machine peak / N) plus one output file's footprint (its bytes + the source bytes it reads).
 * Run: node dist/bench/convert-parts.js [--target-bytes 2e9] [--parts 2,4] [--policy gdn8-speed4]
 *        [--max-shard-bytes 50e6] [--keep] [--json]
 */
import { spawn } from 'child_process';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { generateCheckpoint } from '../fixtures/generator/write-checkpoint';
import { HubTestServer } from '../test/support/hub-server/server';
import { bytesOption, hasFlag, optionValue } from './support/cli-args';
import { makeScratchDir, removeDir, requireFreeSpace } from './support/scratch';

const TOKEN = 'hf_benchLoopbackToken0123456789';
const REPO = 'bench/qwen35-27b-shaped';
const CLI = path.join(__dirname, '..', 'src', 'cli', 'main.js');

export interface PartsOptions {
  targetBytes?: number;
  parts?: number[];
  policy?: string;
  maxShardBytes?: number;
  keep?: boolean;
  log?: (line: string) => void;
}

export interface ProcessFigures {
  label: string;
  /** Bytes the loopback Hub sent to this process (every file: headers, small files, tensor bytes). */
  fetchedBytes: number;
  /** Peak of (HF cache + output folder) bytes during the run. */
  peakDiskBytes: number;
  outputBytes: number;
  seconds: number;
}

export interface PartsRow {
  parts: number;
  perPart: (ProcessFigures & { outputFiles: number; bound: number; withinBound: boolean; plannedPeakDiskBytes: number; plannedFetchBytes: number })[];
  sumFetchedBytes: number;
  /** sum of part downloads / single-machine download. */
  fetchRatio: number;
  maxPeakDiskBytes: number;
  /** One output file's footprint: the largest (output bytes + source bytes it reads) over files. */
  oneFileFootprint: number;
  identical: boolean;
  assembleSeconds: number;
}

export interface PartsResult {
  inputBytes: number;
  policy: string;
  maxShardBytes: number;
  outputFiles: number;
  single: ProcessFigures;
  rows: PartsRow[];
}

/** Apparent bytes of the regular files under `dir` (symlinks not followed: the HF snapshot links). */
async function treeBytes(dir: string): Promise<number> {
  let n = 0;
  let entries;
  try {
    entries = await fsp.readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) n += await treeBytes(p);
    else if (e.isFile()) n += (await fsp.lstat(p).catch(() => ({ size: 0 }))).size;
  }
  return n;
}

/** Runs the CLI in a child process against the server, polling the disk it uses. */
async function runMeasured(server: HubTestServer, args: string[], cache: string, outDirs: string[]): Promise<{ stdout: string; peak: number; seconds: number; fetched: number }> {
  server.resetStats();
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, [CLI, ...args, '--json'], {
    env: { ...process.env, HF_ENDPOINT: server.url, HF_TOKEN: TOKEN, HF_HUB_CACHE: cache, HF_HUB_OFFLINE: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let peak = 0;
  let polling = true;
  const poll = (async () => {
    while (polling) {
      // The hidden partial folders sit beside the output folders.
      const dirs = [cache, ...outDirs.flatMap((o) => [o, path.join(path.dirname(o), `.${path.basename(o)}.mtpkit-partial`)])];
      let n = 0;
      for (const d of dirs) n += await treeBytes(d);
      peak = Math.max(peak, n);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  polling = false;
  await poll;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  if (code !== 0) throw new Error(`mtpkit ${args.join(' ')} exited ${code}: ${stderr || stdout}`);
  let final = 0;
  for (const d of [cache, ...outDirs]) final += await treeBytes(d);
  return { stdout, peak: Math.max(peak, final), seconds, fetched: server.bytesServed() };
}

export async function run(opts: PartsOptions = {}): Promise<PartsResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[parts] ${l}\n`));
  const targetBytes = opts.targetBytes ?? 2e9;
  const counts = opts.parts ?? [2, 4];
  const policy = opts.policy ?? 'gdn8-speed4';
  const maxShardBytes = opts.maxShardBytes ?? 50e6;
  const scratch = await makeScratchDir('parts');
  const server = await HubTestServer.start({ token: TOKEN });
  try {
    // Input, the single run's cache + output, and every part's outputs kept for the comparison.
    await requireFreeSpace(scratch, 3.5 * targetBytes, 'the parts bench');
    const input = path.join(scratch, 'input');
    log(`generating qwen35-dense ~${(targetBytes / 1e9).toFixed(2)} GB into ${input}`);
    const gen = await generateCheckpoint(input, { variant: 'qwen35-dense', seed: 1, targetBytes });
    let inputBytes = 0;
    for (const sh of gen.shards) inputBytes += (await fsp.stat(path.join(input, sh.file))).size;
    await server.addRepoFromFolder(REPO, input);
    const common = ['--policy', policy, '--max-shard-bytes', String(maxShardBytes)];

    log('single machine: converting');
    const singleOut = path.join(scratch, 'single');
    const singleCache = path.join(scratch, 'cache-single');
    const s = await runMeasured(server, ['convert', REPO, singleOut, ...common], singleCache, [singleOut]);
    const singleOutput = await treeBytes(singleOut);
    const single: ProcessFigures = { label: 'single', fetchedBytes: s.fetched, peakDiskBytes: s.peak, outputBytes: singleOutput, seconds: s.seconds };
    await removeDir(singleCache);
    log(`single: fetched ${s.fetched} B, peak disk ${s.peak} B, ${s.seconds.toFixed(1)} s`);

    // The plan's per-file figures, from the CLI itself.
    const planArgs = ['plan', REPO, ...common, '--parts'];
    const planCache = path.join(scratch, 'cache-plan');
    const rows: PartsRow[] = [];
    let outputFiles = 0;
    for (const n of counts) {
      const plan = JSON.parse((await runMeasured(server, [...planArgs, String(n)], planCache, [])).stdout) as {
        parts: { index: number; files: string[]; outputBytes: number; readBytes: number; fetchBytes: number; peakDiskBytes: number }[];
      };
      const perFile = JSON.parse((await runMeasured(server, [...planArgs, '1000'], planCache, [])).stdout) as { parts: { files: string[]; outputBytes: number; readBytes: number }[] };
      const files = perFile.parts.filter((p) => p.files.length);
      outputFiles = files.length;
      const oneFileFootprint = Math.max(...files.map((p) => p.outputBytes + p.readBytes));
      const dir = path.join(scratch, `parts-${n}`);
      const perPart: PartsRow['perPart'] = [];
      for (let i = 1; i <= n; i++) {
        const out = path.join(dir, `p${i}`);
        const cache = path.join(scratch, `cache-part-${n}-${i}`);
        const r = await runMeasured(server, ['convert', REPO, out, '--part', `${i}/${n}`, ...common], cache, [out]);
        await removeDir(cache);
        const bound = single.peakDiskBytes / n + oneFileFootprint;
        perPart.push({
          label: `${i}/${n}`,
          fetchedBytes: r.fetched,
          peakDiskBytes: r.peak,
          outputBytes: await treeBytes(out),
          seconds: r.seconds,
          outputFiles: plan.parts[i - 1].files.length,
          plannedFetchBytes: plan.parts[i - 1].fetchBytes,
          plannedPeakDiskBytes: plan.parts[i - 1].peakDiskBytes,
          bound,
          withinBound: r.peak <= bound,
        });
        log(`part ${i}/${n}: fetched ${r.fetched} B, peak disk ${r.peak} B (bound ${Math.round(bound)}), ${r.seconds.toFixed(1)} s`);
      }
      const assembled = path.join(scratch, `assembled-${n}`);
      const a = await runMeasured(server, ['assemble', assembled, '--parts', dir], path.join(scratch, 'cache-assemble'), [assembled]);
      await removeDir(path.join(scratch, 'cache-assemble'));
      const identical = await sameArtifact(singleOut, assembled);
      await removeDir(assembled);
      await removeDir(dir);
      const sumFetchedBytes = perPart.reduce((x, p) => x + p.fetchedBytes, 0);
      rows.push({
        parts: n,
        perPart,
        sumFetchedBytes,
        fetchRatio: sumFetchedBytes / single.fetchedBytes,
        maxPeakDiskBytes: Math.max(...perPart.map((p) => p.peakDiskBytes)),
        oneFileFootprint,
        identical,
        assembleSeconds: a.seconds,
      });
      log(`${n} parts: fetched ${sumFetchedBytes} B = ${(sumFetchedBytes / single.fetchedBytes).toFixed(4)} x single; assembled identical: ${identical}`);
    }
    await removeDir(planCache);
    return { inputBytes, policy, maxShardBytes, outputFiles, single, rows };
  } finally {
    await server.close();
    if (!opts.keep) await removeDir(scratch);
  }
}

/** Same files, same bytes (the contract without its two clock readings). */
async function sameArtifact(a: string, b: string): Promise<boolean> {
  const names = (await fsp.readdir(a)).sort();
  if (names.join('\n') !== (await fsp.readdir(b)).sort().join('\n')) return false;
  const clockless = (t: string) => t.replace(/("(?:timestamp|created_at)":\s*)"[^"]*"/g, '$1""');
  for (const f of names) {
    const [x, y] = await Promise.all([fsp.readFile(path.join(a, f)), fsp.readFile(path.join(b, f))]);
    if (f === 'mtplx_runtime.json' ? clockless(x.toString()) !== clockless(y.toString()) : !x.equals(y)) return false;
  }
  return true;
}

const gb = (n: number) => `${(n / 1e9).toFixed(3)} GB`;

export function renderParts(r: PartsResult): string[] {
  const lines = [
    `input ${gb(r.inputBytes)}, policy ${r.policy}, ${r.outputFiles} output files of at most ${gb(r.maxShardBytes)}`,
    `single machine: fetched ${gb(r.single.fetchedBytes)}, peak disk ${gb(r.single.peakDiskBytes)}, output ${gb(r.single.outputBytes)}, ${r.single.seconds.toFixed(1)} s`,
  ];
  for (const row of r.rows) {
    lines.push(
      `${row.parts} parts: sum fetched ${gb(row.sumFetchedBytes)} = ${(row.fetchRatio * 100).toFixed(2)} % of single; max peak disk ${gb(row.maxPeakDiskBytes)} (single / N = ${gb(r.single.peakDiskBytes / row.parts)}, one file's footprint ${gb(row.oneFileFootprint)}); assembled identical: ${row.identical}; assemble ${row.assembleSeconds.toFixed(1)} s`,
    );
    for (const p of row.perPart) {
      lines.push(
        `  part ${p.label}: ${p.outputFiles} files, fetched ${gb(p.fetchedBytes)} (plan: ${gb(p.plannedFetchBytes)}), peak disk ${gb(p.peakDiskBytes)} (plan: ${gb(p.plannedPeakDiskBytes)}) <= bound ${gb(p.bound)}: ${p.withinBound}, ${p.seconds.toFixed(1)} s`,
      );
    }
  }
  return lines;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const partsArg = optionValue(args, 'parts');
  run({
    targetBytes: bytesOption(args, 'target-bytes', 'MTPKIT_BENCH_TARGET_BYTES'),
    parts: partsArg ? partsArg.split(',').map(Number) : undefined,
    policy: optionValue(args, 'policy'),
    maxShardBytes: bytesOption(args, 'max-shard-bytes', 'MTPKIT_BENCH_PARTS_SHARD_BYTES'),
    keep: hasFlag(args, 'keep'),
  }).then(
    (r) => process.stdout.write(hasFlag(args, 'json') ? JSON.stringify(r, null, 2) + '\n' : renderParts(r).join('\n') + '\n'),
    (e) => {
      process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = 1;
    },
  );
}
