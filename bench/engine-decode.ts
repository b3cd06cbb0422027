/**
 * Decode bench (issue 11, "Speed"): a Qwen3.5-4B-shaped checkpoint converted with `uniform --bits 4` and
 * `gdn8-speed4`, our native engine on both, llama.cpp on the same shape as a Q4_0 GGUF, and this
 * machine's read bandwidth, all in one run. See bench/README.md for what each figure means.
 *
 * node dist/bench/engine-decode.js [--repeat 3] [--decode-tokens 32] [--bandwidth-bytes 1GiB]
 *   [--skip-engine] [--skip-llama] [--artifacts NAME=DIR,...] [--json]
 */
import { execFile } from 'child_process';
import { promises as fsp } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { generateCheckpoint } from '../fixtures/generator/write-checkpoint';
import { shapedVariant } from '../fixtures/generator/shapes';
import { getVariant } from '../fixtures/generator/variants';
import { readBandwidth } from '../src/runtime/engine/kernels';
import { bytesOption, hasFlag, optionValue } from './support/cli-args';
import type { EngineProbeRequest, EngineProbeResult } from './support/engine-probe';
import { writeQwen35Gguf } from './support/gguf-qwen35';
import { ensureLlamaCpp, runLlamaCpp } from './support/llama-cpp';
import { REPO_ROOT, type LlamaProbeResult } from './support/llama-cpp-probe';
import { cachedDir } from './support/scratch';
import { treeHash } from './support/tree-hash';

const run = promisify(execFile);
const VARIANT = 'qwen35-dense-tied';
const SHAPE = '4b';
const SEED = 0;
const POLICIES: { name: string; args: string[] }[] = [
  { name: 'uniform-4', args: ['--policy', 'uniform', '--bits', '4'] },
  { name: 'gdn8-speed4', args: ['--policy', 'gdn8-speed4'] },
];
/** A short prompt of plain byte-level token ids (the same ids for both engines). */
const PROMPT = Array.from({ length: 16 }, (_, i) => 40 + i);

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const min = (a: number[]) => Math.min(...a);

async function childJson<T>(script: string, req: unknown): Promise<T> {
  try {
    const { stdout } = await run(process.execPath, [path.join(__dirname, 'support', script), JSON.stringify(req)], { maxBuffer: 1 << 24 });
    return JSON.parse(stdout.trim().split('\n').pop()!) as T;
  } catch (e) {
    const out = (e as { stdout?: string }).stdout?.trim().split('\n').pop();
    return (out ? JSON.parse(out) : { ok: false, error: (e as Error).message }) as T;
  }
}

/** Content keys of the cached checkpoint and of the code that converts it. */
export async function inputKeys(): Promise<{ genKey: object; convertCode: string }> {
  const genKey = { variant: VARIANT, shape: SHAPE, seed: SEED, code: await treeHash(['fixtures/generator', 'src/safetensors']) };
  // The converter is src/ and the native quantizer; the engine (src/runtime, native/src/engine) does not
  // change what it writes, so merging engine work keeps the cached artifacts.
  const convertCode = await treeHash(['src', 'native/src'], ['src/runtime', 'native/src/engine']);
  return { genKey, convertCode };
}

export interface DecodeBenchResult {
  threadsAll: number;
  /** GB/s, per repeat, at 1 and all threads. */
  bandwidth: { threads: number; gbps: number[] }[];
  engine: { artifact: string; threads: number; result: EngineProbeResult }[];
  llama: LlamaProbeResult | { ok: false; error: string; skipped: true };
  cache: Record<string, { dir: string; hit: boolean }>;
  /** GGUF tensor bytes one llama.cpp token reads: every tensor (the tied embedding is also the LM head). */
  ggufBytes?: number;
}

export async function runDecodeBench(args: string[], log: (s: string) => void = console.error): Promise<DecodeBenchResult> {
  const repeat = Number(optionValue(args, 'repeat') ?? 3);
  const decodeTokens = Number(optionValue(args, 'decode-tokens') ?? 32);
  const bwBytes = bytesOption(args, 'bandwidth-bytes', 'MTPKIT_BENCH_BANDWIDTH_BYTES') ?? 2 ** 30;
  const threadsAll = os.availableParallelism?.() ?? os.cpus().length;
  const threadSet = [...new Set([1, threadsAll])];
  const dims = shapedVariant(getVariant(VARIANT), SHAPE).dims;
  const cache: DecodeBenchResult['cache'] = {};

  // 1. Inputs, cached by content key (generator code + request; converter code + checkpoint key + policy).
  const { genKey, convertCode } = await inputKeys();
  const artifacts: { name: string; dir: string }[] = [];
  const given = optionValue(args, 'artifacts'); // NAME=DIR,...: artifacts made elsewhere, not from the cache
  if (given) {
    for (const pair of given.split(',')) {
      const [name, dir] = pair.split('=');
      if (!name || !dir) throw new RangeError(`--artifacts: expected NAME=DIR[,NAME=DIR], got '${pair}'`);
      artifacts.push({ name, dir: path.resolve(dir) });
    }
  } else if (!hasFlag(args, 'skip-engine')) {
    cache.checkpoint = await cachedDir('ckpt-qwen35-4b', genKey, async (dir) => {
      log(`generating the ${SHAPE} checkpoint into ${dir} (about 8.7 GB)`);
      await generateCheckpoint(dir, { variant: VARIANT, shape: SHAPE, seed: SEED });
    });
    for (const p of POLICIES) {
      const key = { checkpoint: genKey, policy: p.args, code: convertCode };
      const c = await cachedDir(`artifact-4b-${p.name}`, key, async (dir) => {
        log(`converting with ${p.args.join(' ')} into ${dir}`);
        const cli = path.join(REPO_ROOT, 'dist', 'src', 'cli', 'main.js');
        await run(process.execPath, [cli, 'convert', cache.checkpoint.dir, path.join(dir, 'artifact'), ...p.args], { maxBuffer: 1 << 24 });
      });
      cache[p.name] = c;
      artifacts.push({ name: p.name, dir: path.join(c.dir, 'artifact') });
    }
  }
  let gguf = '';
  let ggufBytes: number | undefined;
  if (!hasFlag(args, 'skip-llama')) {
    const ggufKey = { dims, seed: SEED, code: await treeHash(['bench/support/gguf-writer.ts', 'bench/support/gguf-qwen35.ts', 'fixtures/generator/tokenizer.ts']) };
    cache.gguf = await cachedDir('gguf-qwen35-4b-q4_0', ggufKey, async (dir) => {
      log(`writing the Q4_0 GGUF into ${dir} (about 2.4 GB)`);
      await writeQwen35Gguf(path.join(dir, 'model.gguf'), dims, SEED);
    });
    gguf = path.join(cache.gguf.dir, 'model.gguf');
    ggufBytes = (await fsp.stat(gguf)).size;
    await ensureLlamaCpp(log);
  }

  // 2. Timings, interleaved per repeat round so that background load hits every engine alike.
  const bandwidth = threadSet.map((threads) => ({ threads, gbps: [] as number[] }));
  const engine: DecodeBenchResult['engine'] = [];
  const llamaRuns: LlamaProbeResult[] = [];
  for (let r = 0; r < repeat; r++) {
    log(`round ${r + 1}/${repeat}`);
    for (const b of bandwidth) b.gbps.push(readBandwidth(bwBytes, b.threads));
    for (const a of artifacts) {
      for (const threads of threadSet) {
        const req: EngineProbeRequest = { artifact: a.dir, threads, promptTokens: PROMPT, decodeTokens, repeat: 1, maxM: 5 };
        engine.push({ artifact: a.name, threads, result: await childJson<EngineProbeResult>('engine-probe.js', req) });
      }
    }
    if (gguf) llamaRuns.push(await runLlamaCpp({ gguf, threads: [...new Set([1, 2])], promptTokens: PROMPT, decodeTokens, repeat: 1 }));
  }
  return { threadsAll, bandwidth, engine, llama: mergeLlama(llamaRuns) ?? { ok: false, error: 'skipped', skipped: true }, cache, ggufBytes };
}

/** One result with every round's figures per thread count (the first failure wins). */
function mergeLlama(runs: LlamaProbeResult[]): LlamaProbeResult | undefined {
  if (!runs.length) return undefined;
  const bad = runs.find((r) => !r.ok);
  if (bad) return bad;
  const merged: LlamaProbeResult = { ok: true, loadSeconds: min(runs.map((r) => r.loadSeconds!)), buildType: runs[0].buildType, runs: [] };
  for (const fig of runs[0].runs!) {
    const all = runs.map((r) => r.runs!.find((f) => f.threads === fig.threads)!);
    merged.runs!.push({ threads: fig.threads, decodeTokPerSec: all.flatMap((f) => f.decodeTokPerSec), prefillTokPerSec: all.flatMap((f) => f.prefillTokPerSec) });
  }
  return merged;
}

const f = (x: number, d = 2) => x.toFixed(d);

export function formatDecodeBench(res: DecodeBenchResult): string {
  const lines: string[] = [];
  const bw = (t: number) => res.bandwidth.find((b) => b.threads === t)?.gbps ?? [];
  for (const b of res.bandwidth) lines.push(`read bandwidth, ${b.threads} thread(s): median ${f(median(b.gbps))} GB/s (min ${f(min(b.gbps))}, runs ${b.gbps.map((x) => f(x)).join(' ')})`);
  const llamaTok = (t: number) => (res.llama.ok ? (res.llama as LlamaProbeResult).runs!.find((r) => r.threads === t)?.decodeTokPerSec : undefined);
  if (res.llama.ok) {
    const l = res.llama as LlamaProbeResult;
    lines.push(`llama.cpp (node-llama-cpp 3.21.1, ${l.buildType} CPU build), Q4_0 GGUF, load ${f(l.loadSeconds!)} s`);
    for (const r of l.runs!) {
      const eff = res.ggufBytes ? (res.ggufBytes * median(r.decodeTokPerSec)) / 1e9 : NaN;
      const roof = median(bw(Math.min(r.threads, res.threadsAll)));
      lines.push(`  ${r.threads} thread(s): decode median ${f(median(r.decodeTokPerSec))} tok/s (min ${f(min(r.decodeTokPerSec))}; ${r.decodeTokPerSec.map((x) => f(x)).join(' ')}), ` +
        `effective ${f(eff)} GB/s = ${f(eff / roof, 3)} of the read roofline; prefill median ${f(median(r.prefillTokPerSec))} tok/s`);
    }
  } else lines.push(`llama.cpp: not run (${(res.llama as { error?: string }).error})`);
  const names = [...new Set(res.engine.map((e) => e.artifact))];
  for (const name of names) {
    for (const t of [...new Set(res.engine.map((e) => e.threads))]) {
      const rows = res.engine.filter((e) => e.artifact === name && e.threads === t).map((e) => e.result);
      const bad = rows.find((r) => !r.ok);
      if (bad) {
        lines.push(`engine ${name}, ${t} thread(s): not run (${bad.error})`);
        continue;
      }
      const sec = rows.flatMap((r) => r.decodeSeconds!);
      const tok = sec.map((s) => 1 / s);
      const wb = rows[0].weightBytesPerToken!;
      const effBw = median(sec.map((s) => wb / s / 1e9));
      const ll = llamaTok(t);
      const betas = rows[0].beta!.map((_, i) => median(rows.map((r) => r.beta![i])));
      const mapped = wb; // the trunk's weights, all mapped: what RSS may hold beyond KV, state and overhead
      const extra = median(rows.map((r) => r.peakRss! - mapped));
      lines.push(`engine ${name}, ${t} thread(s): decode median ${f(median(tok))} tok/s (min ${f(min(tok))}), weight bytes/token ${f(wb / 1e9, 3)} GB, ` +
        `effective ${f(effBw)} GB/s = ${f(effBw / median(bw(t)), 3)} of the read roofline; ` +
        `beta(1..5) ${betas.map((b) => f(b, 3)).join(' ')}; prefill ${f(median(rows.flatMap((r) => r.prefillTokPerSec!)))} tok/s; ` +
        `load ${f(median(rows.map((r) => r.loadSeconds!)))} s; peak RSS - weights ${f(extra / 2 ** 20, 0)} MiB` +
        (ll ? `; ours / llama.cpp ${f(median(tok) / median(ll), 3)}` : ''));
    }
  }
  return lines.join('\n');
}

if (require.main === module) {
  const args = process.argv.slice(2);
  runDecodeBench(args).then(
    (res) => console.log(hasFlag(args, 'json') ? JSON.stringify(res, null, 2) : formatDecodeBench(res)),
    (e) => {
      console.error((e as Error).stack ?? String(e));
      process.exitCode = 1;
    },
  );
}
