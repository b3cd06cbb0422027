/**
 * Child process: times our native engine (src/runtime/engine/load-model.ts, branch `engine`) on one
 * artifact. argv[2] = EngineProbeRequest JSON; prints one EngineProbeResult JSON line. Until the engine
 * is merged into this branch, it answers { ok: false, error: 'engine not available ...' }.
 */
import * as path from 'path';
import type { InferenceModel } from '../../src/runtime/engine/types';

export interface EngineProbeRequest {
  artifact: string;
  threads: number;
  promptTokens: number[];
  decodeTokens: number;
  repeat: number;
  /** Largest verify batch for beta(M). */
  maxM: number;
}
export interface EngineProbeResult {
  ok: boolean;
  error?: string;
  loadSeconds?: number;
  weightBytesPerToken?: number;
  /** Seconds per decoded token (M = 1), one per repeat. */
  decodeSeconds?: number[];
  /** beta[M - 1] = median time(M tokens in one forward) / median time(1), M = 1..maxM. */
  beta?: number[];
  prefillTokPerSec?: number[];
  peakRss?: number;
  rssBeforeLoad?: number;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const now = () => performance.now() / 1000;

async function probe(req: EngineProbeRequest): Promise<EngineProbeResult> {
  let loadModel: (a: string, o?: { threads?: number }) => Promise<InferenceModel>;
  try {
    // Computed path: this file compiles whether or not the engine has been merged yet.
    ({ loadModel } = require(path.join(__dirname, '..', '..', 'src', 'runtime', 'engine', 'load-model')));
  } catch (e) {
    return { ok: false, error: `engine not available in this build (${(e as Error).message.split('\n')[0]})` };
  }
  const rssBeforeLoad = process.memoryUsage().rss;
  const t0 = now();
  const model = await loadModel(req.artifact, { threads: req.threads });
  const loadSeconds = now() - t0;
  const s = model.newSession({ maxContext: 1024 });
  const decodeSeconds: number[] = [];
  const prefillTokPerSec: number[] = [];
  const perM: number[][] = Array.from({ length: req.maxM }, () => []);
  for (let r = 0; r < req.repeat; r++) {
    s.reset();
    let t = now();
    const pre = await s.forward(req.promptTokens, { logits: 'last' });
    prefillTokPerSec.push(req.promptTokens.length / (now() - t));
    let next = argmax(pre.logits, 0, model.info.vocabSize);
    t = now();
    for (let i = 0; i < req.decodeTokens; i++) {
      const out = await s.forward([next], { logits: 'last' });
      next = argmax(out.logits, 0, model.info.vocabSize);
    }
    decodeSeconds.push((now() - t) / req.decodeTokens);
    // beta(M): an M-token verify forward (every row's logits, as speculative decoding asks), rolled back to one kept token.
    // One untimed forward at the largest M first: the session's scratch and logits buffers grow to M rows
    // on first use, and a speculative decoder pays that once, not per verify (it made beta(2) > beta(3)).
    const warm = s.position;
    await s.forward(Array.from({ length: req.maxM }, (_, i) => (next + i) % model.info.vocabSize), { logits: 'all' });
    s.rollback(warm + 1);
    for (let m = 1; m <= req.maxM; m++) {
      const start = s.position;
      const toks = Array.from({ length: m }, (_, i) => (next + i) % model.info.vocabSize);
      const tm = now();
      await s.forward(toks, { logits: 'all' });
      perM[m - 1].push(now() - tm);
      s.rollback(start + 1); // rollback covers (start, start + M]: keep one token, drop the rest
    }
  }
  const info = model.info;
  model.close();
  const t1 = median(perM[0]);
  return {
    ok: true,
    loadSeconds,
    weightBytesPerToken: info.weightBytesPerToken,
    decodeSeconds,
    beta: perM.map((a) => median(a) / t1),
    prefillTokPerSec,
    peakRss: process.resourceUsage().maxRSS * 1024,
    rssBeforeLoad,
  };
}

function argmax(a: Float32Array, off: number, n: number): number {
  let best = off;
  for (let i = off + 1; i < off + n; i++) if (a[i] > a[best]) best = i;
  return best - off;
}

if (require.main === module) {
  probe(JSON.parse(process.argv[2] ?? '{}') as EngineProbeRequest).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (err) => {
      process.stdout.write(JSON.stringify({ ok: false, error: String(err?.message ?? err) }) + '\n');
      process.exitCode = 1;
    },
  );
}
