/** `mtpkit convert <src> <out> --policy P`: sanitize + quantize into an MLX artifact. */
import type { Argv, CommandModule } from 'yargs';
import { runConvert, type ConvertOptions, type ConvertSummary } from '../../convert/pipeline';
import { QUANT_MODES } from '../../plan/quant-mode';
import type { TargetDType } from '../../sanitize/plan-sanitize';
import { formatBytes, printJson, printLines } from '../output';
import { createProgress } from '../progress';
import { smokeFlags, smokeHook, type SmokeFlagArgs } from './smoke';
import { hubConfigFrom, hubOptions, type HubArgs } from '../hub-options';
import { withInterruptTrap } from '../interrupt';
import { maybeConvertPart, partOptions, type PartArgs } from './convert-part';
import { parseShardBytes, parseThreads } from '../option-values';

export interface CommonPlanArgs {
  source: string;
  policy: string;
  override?: string[];
  bits?: number;
  'group-size'?: number;
  mode?: string;
  dtype?: TargetDType;
  vision: 'drop' | 'keep';
  mtp: 'keep' | 'drop';
  json: boolean;
}

export interface WriteArgs {
  out: string;
  force: boolean;
  resume: boolean;
  threads?: number;
  rounding: 'metal' | 'cpu';
}

export interface LayoutArgs {
  'max-shard-bytes'?: number;
  'mtp-layout': 'sidecar' | 'inline';
}

interface ConvertArgs extends CommonPlanArgs, HubArgs, WriteArgs, SmokeFlagArgs, LayoutArgs, PartArgs {}

/** How the output is split into files; shared by `convert` and `plan` (which shows the names written). */
export function layoutOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('mtp-layout', { type: 'string', choices: ['sidecar', 'inline'], default: 'sidecar', describe: 'MTP head in mtp.safetensors (MTPLX; default) or inline language_model.mtp.* (mlx-lm native-MTP branch)' })
    .option('max-shard-bytes', { type: 'string', describe: 'largest output shard, bytes or with a unit: 5GB, 500MiB (default 5 GiB, as mlx-lm)' })
    .coerce('max-shard-bytes', (v: unknown) => parseShardBytes(v)) as Argv<T>;
}

/** Options of every command that writes an artifact. */
export function writeOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('force', { type: 'boolean', default: false, describe: 'replace an existing output (only once the new one is complete)' })
    .option('resume', { type: 'boolean', default: false, describe: 'reuse the finished shards of an interrupted run (checked by sha256)' })
    .option('threads', { type: 'string', describe: 'native worker threads, 0 = all cores (default: MTPKIT_THREADS or all cores)' })
    .coerce('threads', (v: unknown) => parseThreads(v))
    .option('rounding', { type: 'string', choices: ['metal', 'cpu'], default: 'metal', describe: 'MLX quantizer semantics: metal (GPU kernel, default) or cpu' }) as Argv<T>;
}

/** Options shared by `convert` and `plan`. */
export function planOptions<T>(y: Argv<T>): Argv<T> {
  return y
    .option('policy', { type: 'string', default: 'none', describe: 'quantization policy: a built-in name (see `mtpkit policies`), NAME+fp16, or a policy JSON file' })
    .option('override', { type: 'string', array: true, describe: 'extra rule SELECTOR=ACTION, highest priority (repeatable)' })
    .option('bits', { type: 'number', describe: 'bits for `uniform` / mixed policies' })
    .option('group-size', { type: 'number', describe: 'group size for `uniform` / mixed policies' })
    .option('mode', { type: 'string', choices: [...QUANT_MODES], describe: 'quantization mode for `uniform`' })
    .option('dtype', { type: 'string', choices: ['float16', 'bfloat16', 'float32'], describe: "float dtype of the output (default: the config's dtype, as mlx-lm)" })
    .option('vision', { type: 'string', choices: ['drop', 'keep'], default: 'drop', describe: 'vision tower: drop (as mlx-lm) or keep unquantized in model-vision-* shards' })
    .option('mtp', { type: 'string', choices: ['keep', 'drop'], default: 'keep', describe: 'MTP head: keep, or drop (writes mtp_num_hidden_layers: 0)' }) as Argv<T>;
}

export function policyChoice(a: CommonPlanArgs) {
  return { spec: a.policy, overrides: a.override, bits: a.bits, groupSize: a['group-size'], mode: a.mode };
}

export const convertCommand: CommandModule<object, ConvertArgs> = {
  command: 'convert <source> <out>',
  describe: 'convert a Hugging Face checkpoint into an MLX artifact (sanitized, quantized by a policy)',
  builder: (y) =>
    partOptions(layoutOptions(smokeFlags(writeOptions(hubOptions(planOptions(y))))))
      .positional('source', { type: 'string', demandOption: true, describe: 'checkpoint folder, or org/name[@revision] on the Hub' })
      .positional('out', { type: 'string', demandOption: true, describe: 'output folder (must not exist unless --force)' }) as never,
  handler: async (a) => {
    const progress = createProgress(a.json);
    const smoke = smokeHook(a);
    const opts: ConvertOptions = {
      beforePublish: smoke.beforePublish,
      source: a.source,
      out: a.out,
      force: a.force,
      resume: a.resume,
      mtpLayout: a['mtp-layout'],
      threads: a.threads,
      rounding: a.rounding,
      maxShardBytes: a['max-shard-bytes'],
      vision: a.vision,
      mtp: a.mtp,
      dtype: a.dtype,
      policy: policyChoice(a),
      onProgress: progress.update,
      hub: hubConfigFrom(a),
    };
    if (await maybeConvertPart(a, opts, progress.done)) return;
    const summary = await withInterruptTrap((signal) =>
      runConvert({ ...opts, signal, onNote: (m) => process.stderr.write(`mtpkit: ${m}\n`) }),
    ).finally(() => progress.done());
    if (a.json) {
      printJson({ ok: true, ...summary, ...(smoke.report() ? { smoke: smoke.report() } : {}), throughputBytesPerSecond: summary.bytesWritten / Math.max(summary.seconds, 1e-9) });
      return;
    }
    printSummary(summary);
  },
};

export function printSummary(summary: ConvertSummary): void {
  const bpw = summary.bitsPerWeight;
  printLines([
    `wrote ${summary.out}: ${summary.tensors} stored tensors, ${formatBytes(summary.bytesWritten)} in ${summary.seconds.toFixed(1)} s`,
    `bits per weight: trunk ${bpw.trunk > 0 ? bpw.trunk.toFixed(3) : 'not measured'}${bpw.mtp ? `, MTP head ${bpw.mtp.toFixed(3)}` : ''}`,
    ...(summary.reusedShards.length ? [`reused ${summary.reusedShards.length} finished shard(s): ${summary.reusedShards.join(', ')}`] : []),
    ...summary.reports.map((r) => `note: ${r}`),
    ...summary.warnings.map((w) => `warning: ${w}`),
  ]);
}
