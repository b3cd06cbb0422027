/** `mtpkit run <artifact>`: generate text with the native CPU engine, streaming it as it comes. */
import * as fs from 'fs';
import * as path from 'path';
import type { CommandModule } from 'yargs';
import { InputError } from '../../errors';
import { loadModel } from '../../runtime/engine/load-model';
import { resolveArtifact } from '../../runtime/engine/resolve-artifact';
import { generate, TextStream } from '../../runtime/generate';
import { makeSampler } from '../../runtime/sampling';
import { loadTokenizer, type TextCodec } from '../../runtime/text/tokenizer';
import { hubConfigFrom, hubOptions, type HubArgs } from '../hub-options';
import { formatBytes, printJson } from '../output';
import { parseThreads } from '../option-values';
import { activationsOption, type ActivationsArgs } from '../activations-option';
import { resolveActivations } from '../../runtime/engine/activations';
import { runMtp } from './run-mtp';

interface RunArgs extends HubArgs, ActivationsArgs {
  artifact: string;
  prompt?: string;
  ids?: string;
  chat: boolean;
  'max-tokens': number;
  temp: number;
  'top-p': number;
  'top-k': number;
  seed: number;
  threads?: number;
  json: boolean;
  mtp: boolean;
  depth: number;
}

function parseIds(s: string): number[] {
  const parts = s.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (parts.length === 0) throw new InputError('--ids needs at least one token id', { field: 'ids' });
  return parts.map((p) => {
    if (!/^\d+$/.test(p)) throw new InputError(`'${p}' is not a token id (a non-negative integer)`, { field: 'ids' });
    return Number(p);
  });
}

/** A progress line on stderr while weights are paged in: redrawn on a TTY, a few plain lines otherwise. */
function loadProgress(enabled: boolean): (done: number, total: number) => void {
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
  let lastDecile = -1;
  return (done, total) => {
    if (!enabled) return;
    const frac = total ? done / total : 1;
    const msg = `loading weights ${(frac * 100).toFixed(0).padStart(3)}%  ${formatBytes(done)}/${formatBytes(total)}`;
    if (tty) process.stderr.write(`\r${msg}\x1b[K${done >= total ? '\n' : ''}`);
    else if (Math.floor(frac * 4) !== lastDecile) {
      lastDecile = Math.floor(frac * 4);
      process.stderr.write(msg + '\n');
    }
  };
}

export const runCommand: CommandModule<object, RunArgs> = {
  command: 'run <artifact>',
  describe: 'generate text from an MLX artifact with the bundled CPU engine (streams the text, then prefill and decode tok/s)',
  builder: (y) =>
    hubOptions(
      activationsOption(y)
        .positional('artifact', { type: 'string', demandOption: true, describe: 'artifact folder, or org/name[@revision] on the Hub' })
        .option('prompt', { type: 'string', describe: 'prompt text (tokenized with the artifact tokenizer.json)' })
        .option('ids', { type: 'string', describe: 'prompt as comma-separated token ids (instead of --prompt)' })
        .option('chat', { type: 'boolean', default: false, describe: 'wrap --prompt as a user message with the chat template' })
        .option('max-tokens', { type: 'number', default: 128, describe: 'tokens to generate at most' })
        .option('temp', { type: 'number', default: 0, describe: 'sampling temperature (0 = greedy)' })
        .option('top-p', { type: 'number', default: 0, describe: 'nucleus sampling mass (0 = off)' })
        .option('top-k', { type: 'number', default: 0, describe: 'sample among the k most likely tokens (0 = off)' })
        .option('seed', { type: 'number', default: 0, describe: 'PRNG seed for sampling' })
        .option('threads', { type: 'string', describe: 'native worker threads, 0 = all cores (default: MTPKIT_THREADS or all cores)' })
        .coerce('threads', (v: unknown) => parseThreads(v))
        .option('mtp', { type: 'boolean', default: false, describe: 'speculative decoding with the MTP head (prints acceptance per draft position and tokens per cycle)' })
        .option('depth', { type: 'number', default: 2, describe: 'drafts per cycle with --mtp (1-7)' })
        .conflicts('prompt', 'ids'),
    ) as never,
  handler: async (a) => {
    if (a.prompt === undefined && a.ids === undefined) throw new InputError('give --prompt TEXT or --ids 1,2,3');
    if (a.chat && a.prompt === undefined) throw new InputError('--chat needs --prompt', { field: 'chat' });
    if (!Number.isInteger(a['max-tokens']) || a['max-tokens'] < 1) throw new InputError(`--max-tokens must be a positive integer, got ${a['max-tokens']}`, { field: 'max-tokens' });
    if (!Number.isInteger(a.seed) || a.seed < 0) throw new InputError(`--seed must be a non-negative integer, got ${a.seed}`, { field: 'seed' });
    if (a.mtp && !(Number.isInteger(a.depth) && a.depth >= 1 && a.depth <= 7)) throw new InputError(`--depth must be an integer from 1 to 7, got ${a.depth}`, { field: 'depth' });
    const activations = resolveActivations(a.activations);
    const sampler = makeSampler({ temp: a.temp, topP: a['top-p'], topK: a['top-k'] }, a.seed);
    const hub = hubConfigFrom(a);
    const dir = await resolveArtifact(a.artifact, hub);
    const hasTokenizer = fs.existsSync(path.join(dir, 'tokenizer.json'));
    const codec: TextCodec | undefined = a.prompt !== undefined || hasTokenizer ? await loadTokenizer(dir) : undefined;
    let prompt: number[];
    if (a.ids !== undefined) prompt = parseIds(a.ids);
    else {
      const text = a.chat ? codec!.applyChatTemplate([{ role: 'user', content: a.prompt! }]) : a.prompt!;
      prompt = codec!.encode(text);
      if (prompt.length === 0) throw new InputError('the prompt encodes to no tokens', { field: 'prompt' });
    }

    const tLoad = Date.now();
    const model = await loadModel(dir, { threads: a.threads, activations, onProgress: loadProgress(!a.json) });
    const loadSeconds = (Date.now() - tLoad) / 1000;
    try {
      if (a.mtp) {
        const sampling = { temp: a.temp, topP: a['top-p'], topK: a['top-k'] };
        await runMtp({ dir, artifact: a.artifact, model, activations, prompt, maxTokens: a['max-tokens'], depth: a.depth, sampling, seed: a.seed, codec, json: a.json, loadSeconds });
        return;
      }
      const session = model.newSession({ maxContext: prompt.length + a['max-tokens'] });
      const stream = codec && !a.json ? new TextStream((ids) => codec.decode(ids), (s) => process.stdout.write(s)) : undefined;
      const r = await generate(session, prompt, {
        maxTokens: a['max-tokens'],
        sampler,
        eosTokenIds: codec?.eosTokenIds ?? [],
        onToken: (id) => (stream ? stream.push(id) : !a.json && process.stdout.write(`${id} `)),
      });
      stream?.flush();
      const timings = {
        loadSeconds,
        promptTokens: prompt.length,
        prefillSeconds: r.prefillSeconds,
        prefillTokensPerSecond: prompt.length / Math.max(r.prefillSeconds, 1e-9),
        generatedTokens: r.ids.length,
        decodeSeconds: r.decodeSeconds,
        decodeTokensPerSecond: r.decodeForwards / Math.max(r.decodeSeconds, 1e-9),
      };
      if (a.json) {
        printJson({ artifact: a.artifact, model: model.info, activations, promptIds: prompt, ids: r.ids, text: codec ? codec.decode(r.ids) : null, stop: r.stop, timings });
      } else {
        process.stdout.write('\n');
        process.stderr.write(
          `prompt: ${prompt.length} tokens, ${timings.prefillTokensPerSecond.toFixed(1)} tok/s | ` +
            `decode: ${r.ids.length} tokens, ${r.decodeForwards ? timings.decodeTokensPerSecond.toFixed(1) : '-'} tok/s | stop: ${r.stop} | activations: ${activations}\n`,
        );
      }
    } finally {
      model.close();
    }
  },
};
