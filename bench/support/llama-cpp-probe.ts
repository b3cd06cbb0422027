/**
 * Child process: times llama.cpp (node-llama-cpp's prebuilt CPU binaries from bench/llama-cpp) on a
 * GGUF. argv[2] = LlamaProbeRequest as JSON; prints one LlamaProbeResult JSON line.
 * Decode tok/s = tokens after the first generated one / their wall time (greedy sampling); prefill tok/s
 * = prompt tokens / time to the first generated token.
 */
import * as path from 'path';
import { pathToFileURL } from 'url';

export interface LlamaProbeRequest {
  gguf: string;
  threads: number[];
  promptTokens: number[];
  decodeTokens: number;
  repeat: number;
}
export interface LlamaThreadFigures {
  threads: number;
  decodeTokPerSec: number[];
  prefillTokPerSec: number[];
}
export interface LlamaProbeResult {
  ok: boolean;
  error?: string;
  loadSeconds?: number;
  buildType?: string;
  runs?: LlamaThreadFigures[];
}

// node-llama-cpp is ESM only; TypeScript's CommonJS output would turn import() into require().
const importEsm = new Function('u', 'return import(u)') as (u: string) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The repository root from dist/bench/support (compiled) or bench/support (ts-register). */
export const REPO_ROOT = path.resolve(__dirname, ...(__dirname.split(path.sep).includes('dist') ? ['..', '..', '..'] : ['..', '..']));
export const LLAMA_CPP_DIR = path.join(REPO_ROOT, 'bench', 'llama-cpp');

async function probe(req: LlamaProbeRequest): Promise<LlamaProbeResult> {
  const entry = path.join(LLAMA_CPP_DIR, 'node_modules', 'node-llama-cpp', 'dist', 'index.js');
  const nlc = await importEsm(pathToFileURL(entry).href);
  // build 'never' + skipDownload: only the prebuilt binaries installed from the npm registry, no cmake / git fallback.
  const llama = await nlc.getLlama({ gpu: false, build: 'never', usePrebuiltBinaries: true, skipDownload: true, progressLogs: false, logLevel: nlc.LlamaLogLevel.error });
  const t0 = performance.now();
  const model = await llama.loadModel({ modelPath: req.gguf, gpuLayers: 0, useMmap: true });
  const loadSeconds = (performance.now() - t0) / 1000;
  const runs: LlamaThreadFigures[] = [];
  for (const threads of req.threads) {
    const fig: LlamaThreadFigures = { threads, decodeTokPerSec: [], prefillTokPerSec: [] };
    for (let r = 0; r < req.repeat; r++) {
      const context = await model.createContext({ contextSize: 512, threads, batchSize: 512, sequences: 1 });
      const seq = context.getSequence();
      const start = performance.now();
      let n = 0;
      let tFirst = 0;
      for await (const _tok of seq.evaluate(req.promptTokens, { temperature: 0 })) {
        n++;
        if (n === 1) tFirst = performance.now();
        if (n > req.decodeTokens) break;
      }
      const tEnd = performance.now();
      fig.prefillTokPerSec.push(req.promptTokens.length / ((tFirst - start) / 1000));
      fig.decodeTokPerSec.push(req.decodeTokens / ((tEnd - tFirst) / 1000));
      await context.dispose();
    }
    runs.push(fig);
  }
  await model.dispose();
  return { ok: true, loadSeconds, buildType: String(llama.buildType), runs };
}

if (require.main === module) {
  probe(JSON.parse(process.argv[2] ?? '{}') as LlamaProbeRequest).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (err) => {
      process.stdout.write(JSON.stringify({ ok: false, error: String(err?.message ?? err) }) + '\n');
      process.exitCode = 1;
    },
  );
}
