/**
 * `mtpkit smoke` on planted artifacts (issue 12, "Speed"), run as the CLI a user runs, in a child
 * process per repeat:
 * 1. the tiny planted fixture with smoke's defaults (3 built-in prompts, 64 tokens, depths 1-3): its wall
 *    time, which must be seconds;
 * 2. a planted checkpoint of a real shape (default `--shape 4b`: Qwen3.5-4B sizes, tied embeddings),
 *    converted with `uniform --bits 4`: AR tok/s, MTP tok/s and the speedup (a ratio within one run),
 *    acceptance by position and tokens per cycle at depths 1-3, and the smoke's wall time.
 * Repeats report min and median (the machine is shared). Checkpoint and artifact are cached by a
 * content key (bench/support/scratch.ts cachedDir), so a second run skips generating and converting.
 *
 * node dist/bench/smoke-planted.js [--shape 4b | --scale S --layers L] [--noise 0] [--bits 4]
 *   [--max-tokens 16] [--prompts FILE] [--threads N] [--repeat 3] [--skip-tiny] [--skip-shaped] [--json]
 */
import { execFile } from 'child_process';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { generatePlantedCheckpoint, type PlantedOptions } from '../fixtures/generator/planted';
import { isShapeName } from '../fixtures/generator/shapes';
import type { SmokeReport } from '../src/smoke/run-smoke';
import { hasFlag, optionValue } from './support/cli-args';
import { REPO_ROOT } from './support/llama-cpp-probe';
import { cachedDir, makeScratchDir, removeDir } from './support/scratch';
import { treeHash } from './support/tree-hash';

const run = promisify(execFile);
const CLI = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const spread = (a: number[]) => ({ min: Math.min(...a), median: median(a) });

/** Short prompts for the shaped model: prefill at 4B costs seconds per token on a shared CPU. */
const SHAPED_PROMPTS = ['def add(a, b):', 'The old mill', 'Why is the sky blue?'];

export interface SmokeRun {
  wallSeconds: number;
  report: SmokeReport;
}

async function cli(args: string[]): Promise<void> {
  await run(process.execPath, [CLI, ...args], { maxBuffer: 1 << 26 });
}

/** One `mtpkit smoke --json --no-write` in a child process, timed from spawn to exit. */
async function smokeOnce(artifact: string, extra: string[]): Promise<SmokeRun> {
  const t0 = performance.now();
  let stdout: string;
  try {
    ({ stdout } = await run(process.execPath, [CLI, 'smoke', artifact, '--json', '--no-write', ...extra], { maxBuffer: 1 << 26 }));
  } catch (e) {
    // Exit 1 (a failing smoke) still prints the report.
    stdout = (e as { stdout?: string }).stdout ?? '';
    if (!stdout.trim()) throw e;
  }
  return { wallSeconds: (performance.now() - t0) / 1000, report: JSON.parse(stdout) as SmokeReport };
}

export interface SmokeSummary {
  artifact: string;
  settings: string[];
  status: string;
  verdict?: string;
  threads: number;
  cpu: string;
  wallSeconds: { min: number; median: number };
  inProcessSeconds: { min: number; median: number };
  arTokS: { min: number; median: number };
  depths: {
    depth: number;
    identityEveryRun: boolean;
    acceptanceByPosition: number[];
    tokensPerCycle: number;
    histogram: number[];
    mtpTokS: { min: number; median: number };
    speedup: { min: number; median: number };
  }[];
}

function summarize(artifact: string, settings: string[], runs: SmokeRun[]): SmokeSummary {
  const last = runs[runs.length - 1].report;
  return {
    artifact,
    settings,
    status: last.status,
    verdict: last.verdict,
    threads: last.engine.threads,
    cpu: last.engine.cpu,
    wallSeconds: spread(runs.map((r) => r.wallSeconds)),
    inProcessSeconds: spread(runs.map((r) => r.report.seconds)),
    arTokS: spread(runs.map((r) => r.report.arTokS)),
    depths: last.depths.map((d, i) => ({
      depth: d.depth,
      identityEveryRun: runs.every((r) => r.report.depths[i].identity),
      // Greedy decoding is deterministic: acceptance is the same in every run.
      acceptanceByPosition: d.acceptanceByPosition,
      tokensPerCycle: d.meanAcceptedLength,
      histogram: d.histogram,
      mtpTokS: spread(runs.map((r) => r.report.depths[i].mtpTokS)),
      speedup: spread(runs.map((r) => r.report.depths[i].speedup)),
    })),
  };
}

async function repeatSmoke(artifact: string, settings: string[], repeat: number): Promise<SmokeSummary> {
  const runs: SmokeRun[] = [];
  for (let i = 0; i < repeat; i++) runs.push(await smokeOnce(artifact, settings));
  return summarize(artifact, settings, runs);
}

/** The tiny planted fixture, converted fresh into a temp folder, smoked with the defaults. */
async function tinySmoke(threads: string[], repeat: number): Promise<SmokeSummary> {
  const dir = await makeScratchDir('smoke-tiny');
  try {
    const src = path.join(dir, 'src');
    await generatePlantedCheckpoint(src, { variant: 'qwen35-dense' });
    const art = path.join(dir, 'art');
    await cli(['convert', src, art, '--policy', 'uniform', '--json']);
    return await repeatSmoke(art, threads, repeat);
  } finally {
    await removeDir(dir);
  }
}

/** The shaped planted checkpoint and its conversion, cached by content key. */
async function shapedArtifact(opts: PlantedOptions, bits: number): Promise<string> {
  const genKey = { planted: opts, code: await treeHash(['fixtures/generator', 'src/safetensors', 'src/numeric', 'src/speculative/rng.ts']) };
  const ckpt = await cachedDir(`planted-${opts.shape ?? `scale${opts.scale}`}`, genKey, async (dir) => {
    await generatePlantedCheckpoint(dir, opts);
  });
  const convertKey = { checkpoint: genKey, bits, code: await treeHash(['src', 'native/src'], ['src/runtime', 'native/src/engine', 'src/smoke', 'src/speculative', 'src/cli/commands/smoke.ts']) };
  const art = await cachedDir(`planted-${opts.shape ?? `scale${opts.scale}`}-uniform-${bits}`, convertKey, async (dir) => {
    await cli(['convert', ckpt.dir, path.join(dir, 'artifact'), '--policy', 'uniform', '--bits', String(bits), '--json']);
  });
  return path.join(art.dir, 'artifact');
}

export interface SmokeBenchResult {
  tiny?: SmokeSummary;
  shaped?: SmokeSummary & { shape: string };
}

export async function runSmokeBench(args: string[]): Promise<SmokeBenchResult> {
  const num = (name: string) => (optionValue(args, name) !== undefined ? Number(optionValue(args, name)) : undefined);
  const repeat = num('repeat') ?? 3;
  const threads = ['--threads', String(num('threads') ?? os.cpus().length)];
  const out: SmokeBenchResult = {};
  if (!hasFlag(args, 'skip-tiny')) out.tiny = await tinySmoke(threads, repeat);
  if (hasFlag(args, 'skip-shaped')) return out;

  const scale = num('scale');
  const shape = optionValue(args, 'shape') ?? (scale === undefined ? '4b' : undefined);
  if (shape !== undefined && !isShapeName(shape)) throw new RangeError(`--shape: unknown shape '${shape}'`);
  const planted: PlantedOptions = shape
    ? { variant: 'qwen35-dense-tied', shape, noise: num('noise') ?? 0 }
    : { variant: 'qwen35-dense', scale, layers: num('layers'), noise: num('noise') ?? 0 };
  const art = await shapedArtifact(planted, num('bits') ?? 4);
  let promptFile = optionValue(args, 'prompts');
  const scratch = await makeScratchDir('smoke-prompts');
  try {
    if (!promptFile) {
      promptFile = path.join(scratch, 'prompts.json');
      await fsp.writeFile(promptFile, JSON.stringify(SHAPED_PROMPTS));
    }
    const settings = [...threads, '--max-tokens', String(num('max-tokens') ?? 16), '--depths', '1,2,3', '--prompts', promptFile];
    const summary = await repeatSmoke(art, settings, repeat);
    out.shaped = { ...summary, settings: settings.map((s) => (s === promptFile && !optionValue(args, 'prompts') ? JSON.stringify(SHAPED_PROMPTS) : s)), shape: shape ?? `scale ${scale}` };
  } finally {
    await removeDir(scratch);
  }
  return out;
}

const f = (x: number, d = 2) => x.toFixed(d);

export function formatSmokeBench(r: SmokeBenchResult): string {
  const lines: string[] = [];
  const block = (title: string, s: SmokeSummary) => {
    lines.push(`${title}: ${s.status}${s.verdict ? ` (${s.verdict})` : ''}, ${s.threads} thread(s), ${s.cpu}`);
    lines.push(`  settings: ${s.settings.join(' ')}`);
    lines.push(`  mtpkit smoke wall time: median ${f(s.wallSeconds.median, 1)} s (min ${f(s.wallSeconds.min, 1)} s); in-process ${f(s.inProcessSeconds.median, 1)} s`);
    lines.push(`  AR ${f(s.arTokS.median)} tok/s (min ${f(s.arTokS.min)})`);
    for (const d of s.depths) {
      lines.push(
        `  depth ${d.depth}: identity ${d.identityEveryRun ? 'yes' : 'NO'}, acceptance by position ${d.acceptanceByPosition.map((a) => f(a, 3)).join(' / ')}, ` +
          `${f(d.tokensPerCycle)} tokens/cycle, MTP ${f(d.mtpTokS.median)} tok/s (min ${f(d.mtpTokS.min)}), ` +
          `MTP/AR ${f(d.speedup.median, 3)}x (min ${f(d.speedup.min, 3)}x)`,
      );
    }
  };
  if (r.tiny) block('tiny planted fixture (qwen35-dense, smoke defaults)', r.tiny);
  if (r.shaped) block(`planted ${r.shaped.shape} artifact (uniform 4-bit)`, r.shaped);
  return lines.join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  runSmokeBench(args).then(
    (res) => console.log(hasFlag(args, 'json') ? JSON.stringify(res, null, 2) : formatSmokeBench(res)),
    (e) => {
      console.error((e as Error).stack ?? String(e));
      process.exitCode = 1;
    },
  );
}
