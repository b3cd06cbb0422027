/**
 * `mtpkit run --mtp`: generation with MTP speculative decoding (same sampler as plain `run`, exact in
 * distribution), the trunk hidden wired as the artifact's contract states; prints acceptance per draft
 * position and tokens per cycle.
 */
import type { InferenceModel } from '../../runtime/engine/types';
import type { ActivationMode } from '../../runtime/engine/activations';
import type { SamplingOptions } from '../../runtime/sampling';
import type { TextCodec } from '../../runtime/text/tokenizer';
import { TextStream } from '../../runtime/generate';
import { decodeSpeculative, seededUniform } from '../../speculative';
import { readStatedWiring } from '../../smoke/wiring';
import { printJson } from '../output';

export interface RunMtpInput {
  dir: string;
  artifact: string;
  model: InferenceModel;
  /** The mode the model was loaded with (reported with --json). */
  activations: ActivationMode;
  prompt: number[];
  maxTokens: number;
  depth: number;
  sampling: SamplingOptions;
  seed: number;
  codec?: TextCodec;
  json: boolean;
  loadSeconds: number;
}

export async function runMtp(i: RunMtpInput): Promise<void> {
  const wiring = await readStatedWiring(i.dir);
  const eos = new Set(i.codec?.eosTokenIds ?? []);
  const stream = i.codec && !i.json ? new TextStream((ids) => i.codec!.decode(ids), (s) => process.stdout.write(s)) : undefined;
  const session = i.model.newSession({ maxContext: i.prompt.length + i.maxTokens + i.depth + 1 });
  const r = await decodeSpeculative(session, i.prompt, {
    maxTokens: i.maxTokens,
    depth: i.depth,
    hiddenVariant: wiring.base_hidden_variant,
    sampler: i.sampling,
    uniform: seededUniform(i.seed),
    eosTokenIds: [...eos],
    // Like plain `run`, an end-of-sequence id stops generation without being emitted.
    onToken: (id) => !eos.has(id) && (stream ? stream.push(id) : !i.json && process.stdout.write(`${id} `)),
  });
  stream?.flush();
  const stop = r.tokens.length && eos.has(r.tokens[r.tokens.length - 1]) ? 'eos' : 'max-tokens';
  const ids = stop === 'eos' ? r.tokens.slice(0, -1) : r.tokens;
  const m = r.metrics;
  const decodeTokS = ((r.tokens.length - 1) * 1000) / Math.max(r.decodeMs, 1e-9);
  if (i.json) {
    printJson({ artifact: i.artifact, model: i.model.info, activations: i.activations, promptIds: i.prompt, ids, text: i.codec ? i.codec.decode(ids) : null, stop, mtp: { wiring, ...m }, timings: { loadSeconds: i.loadSeconds, prefillSeconds: r.prefillMs / 1000, decodeSeconds: r.decodeMs / 1000, decodeTokensPerSecond: decodeTokS } });
    return;
  }
  process.stdout.write('\n');
  process.stderr.write(
    `prompt: ${i.prompt.length} tokens | decode: ${ids.length} tokens, ${decodeTokS.toFixed(1)} tok/s | stop: ${stop}\n` +
      `mtp depth ${i.depth}: acceptance by position ${m.acceptanceByPosition.map((a) => `${(a * 100).toFixed(1)}%`).join(' ')}, ` +
      `${m.meanAcceptedLength.toFixed(2)} tokens per cycle over ${m.cycles} cycles, histogram ${JSON.stringify(m.histogram)}\n`,
  );
}
