/**
 * Engine costs on one artifact, all ratios from one run: decode time per token at M = 1 (effective
 * weight bandwidth = weight bytes per token / time), verify cost beta(M) = time(M-token forward) /
 * time(1-token forward) for M = 1..5, prefill tok/s, load time, peak RSS minus the mapped weights.
 * node dist/bench/engine-verify.js <artifact> [--threads N] [--repeat 7] [--context 64] [--activations q8,f32] [--json]
 * --activations: the modes to measure one after the other in this run (affine weights: int8 or float
 * activations; default: the engine's default), so their ratios come from one run.
 * Min and median over the repeats; each verify forward is rolled back to one kept token, so the
 * context grows by one per measurement. The same figures from process CPU time / threads (`cpu`)
 * leave out the time the process waited for a core on a shared machine.
 */
import * as fs from 'fs';
import { loadModel } from '../src/runtime/engine/load-model';
import { defaultThreads } from '../src/native/addon';
import { hasFlag, optionValue } from './support/cli-args';

const now = () => Number(process.hrtime.bigint()) / 1e9;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export interface EngineVerifyResult {
  artifact: string;
  /** 'q8' | 'f32', or 'default' when the engine's default was used. */
  activations: string;
  threads: number;
  weightBytesPerToken: number;
  loadSeconds: number;
  decode: { minSeconds: number; medianSeconds: number; gbPerSecond: number };
  beta: { m: number; minSeconds: number; medianSeconds: number; beta: number }[];
  /** From process CPU seconds / threads per forward: decode GB/s (median) and beta(M) of medians. */
  cpu: { decodeMedianSeconds: number; gbPerSecond: number; beta: number[] };
  prefillTokensPerSecond: number;
  peakRssMinusMappedMiB: number;
}

export async function run(
  artifact: string,
  threads: number | undefined,
  repeat: number,
  context: number,
  activations?: 'q8' | 'f32',
): Promise<EngineVerifyResult> {
  const t0 = now();
  const opts = { threads, activations };
  const model = await loadModel(artifact, opts);
  const loadSeconds = now() - t0;
  const V = model.info.vocabSize;
  const prompt = Array.from({ length: context }, (_, i) => (i * 7919 + 13) % V);
  const s = model.newSession({ maxContext: context + repeat * 10 + 16 });
  const tp = now();
  await s.forward(prompt, { logits: 'last' });
  const prefillTokensPerSecond = context / (now() - tp);
  const times = new Map<number, number[]>();
  const cpuTimes = new Map<number, number[]>();
  const par = Math.max(1, threads ?? defaultThreads());
  const cpuNow = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  };
  // Untimed: the first 5-row forward grows the session's buffers (see bench/support/engine-probe.ts).
  const warm = s.position;
  await s.forward(Array.from({ length: 5 }, (_, i) => (warm * 31 + i * 17) % V), { logits: 'all' });
  s.rollback(warm + 1);
  for (let r = 0; r < repeat; r++) {
    for (let m = 1; m <= 5; m++) {
      const start = s.position;
      const toks = Array.from({ length: m }, (_, i) => (start * 31 + i * 17) % V);
      const t = now();
      const c = cpuNow();
      await s.forward(toks, { logits: 'all' });
      const dt = now() - t;
      cpuTimes.set(m, [...(cpuTimes.get(m) ?? []), (cpuNow() - c) / par]);
      if (m > 1) s.rollback(start + 1);
      times.set(m, [...(times.get(m) ?? []), dt]);
    }
  }
  const d1 = times.get(1)!;
  const base = median(d1);
  const res: EngineVerifyResult = {
    artifact,
    activations: activations ?? 'default',
    threads: threads ?? 0,
    weightBytesPerToken: model.info.weightBytesPerToken,
    loadSeconds,
    decode: { minSeconds: Math.min(...d1), medianSeconds: base, gbPerSecond: model.info.weightBytesPerToken / Math.min(...d1) / 1e9 },
    beta: [...times].map(([m, xs]) => ({ m, minSeconds: Math.min(...xs), medianSeconds: median(xs), beta: median(xs) / base })),
    cpu: {
      decodeMedianSeconds: median(cpuTimes.get(1)!),
      gbPerSecond: model.info.weightBytesPerToken / median(cpuTimes.get(1)!) / 1e9,
      beta: [...cpuTimes].map(([, xs]) => median(xs) / median(cpuTimes.get(1)!)),
    },
    prefillTokensPerSecond,
    peakRssMinusMappedMiB: (process.resourceUsage().maxRSS * 1024 - mappedBytes(artifact)) / 2 ** 20,
  };
  model.close();
  return res;
}

function mappedBytes(dir: string): number {
  let n = 0;
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.safetensors')) n += fs.statSync(p).size;
    }
  };
  walk(dir);
  return n;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const artifact = args.find((a) => !a.startsWith('--') && args[args.indexOf(a) - 1]?.startsWith('--') !== true);
  if (!artifact) {
    process.stderr.write('usage: node dist/bench/engine-verify.js <artifact> [--threads N] [--repeat 7] [--context 64] [--json]\n');
    process.exit(2);
  }
  const threads = optionValue(args, 'threads') === undefined ? undefined : Number(optionValue(args, 'threads'));
  const modes = (optionValue(args, 'activations') ?? 'default').split(',');
  for (const m of modes) {
    if (m !== 'q8' && m !== 'f32' && m !== 'default') {
      process.stderr.write(`--activations: expected q8, f32 or a list like q8,f32, got '${m}'\n`);
      process.exit(2);
    }
  }
  const repeat = Number(optionValue(args, 'repeat') ?? 7);
  const context = Number(optionValue(args, 'context') ?? 64);
  (async () => {
    const results: EngineVerifyResult[] = [];
    for (const m of modes) results.push(await run(artifact, threads, repeat, context, m === 'default' ? undefined : (m as 'q8' | 'f32')));
    if (hasFlag(args, 'json')) process.stdout.write(JSON.stringify(results.length === 1 ? results[0] : results, null, 2) + '\n');
    else for (const r of results) printResult(r);
    if (results.length > 1) {
      const base = results[0];
      for (const r of results.slice(1)) {
        process.stdout.write(`decode time ${r.activations} / ${base.activations}: min ${(r.decode.minSeconds / base.decode.minSeconds).toFixed(3)}, median ${(r.decode.medianSeconds / base.decode.medianSeconds).toFixed(3)}\n`);
      }
    }
  })().catch((e) => {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(1);
  });
}

function printResult(r: EngineVerifyResult): void {
  process.stdout.write(`artifact ${r.artifact}, threads ${r.threads || 'all'}, activations ${r.activations}, load ${r.loadSeconds.toFixed(2)} s\n`);
  process.stdout.write(`decode M=1: min ${(r.decode.minSeconds * 1e3).toFixed(2)} ms, median ${(r.decode.medianSeconds * 1e3).toFixed(2)} ms, ${r.decode.gbPerSecond.toFixed(2)} GB/s of weights\n`);
  for (const b of r.beta) process.stdout.write(`beta(${b.m}) = ${b.beta.toFixed(3)}  (min ${(b.minSeconds * 1e3).toFixed(2)} ms, median ${(b.medianSeconds * 1e3).toFixed(2)} ms)\n`);
  process.stdout.write(`by CPU time / threads: decode ${r.cpu.gbPerSecond.toFixed(2)} GB/s, beta(1..5) ${r.cpu.beta.map((b) => b.toFixed(2)).join(' ')}\n`);
  process.stdout.write(`prefill ${r.prefillTokensPerSecond.toFixed(1)} tok/s; peak RSS - mapped weights: ${r.peakRssMinusMappedMiB.toFixed(0)} MiB\n`);
}
