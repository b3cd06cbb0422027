/**
 * `mtpkit graft <mlx-trunk> <mtp-source> <out>`: adds the MTP head of an original checkpoint to an MLX
 * trunk that lacks one (e.g. a community 4-bit conversion). The trunk's files are hard-linked (or
 * copied) unchanged; the head is sanitized with the *source's* raw/converted status, quantized by the
 * policy and written as the `mtp.safetensors` sidecar, with config keys, model card and contract.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { InputError } from '../errors';
import { parseTextConfig, type TextConfig } from '../arch/text-config';
import { isMtpTensor } from '../plan/tensor-names';
import { tensorBytes } from '../safetensors/types';
import { buildConversionPlan } from './conversion-plan';
import type { PolicyChoice } from './apply-policy';
import { checkOutputPath, partialDirFor } from './atomic-dir';
import { abortableHub, asInterruption } from './interrupted';
import { openSource } from '../source/open-source';
import { writeArtifact, type ConvertOptions, type ConvertSummary } from './pipeline';
import type { CheckpointSource } from '../source/checkpoint-source';
import { RUNTIME_CONTRACT_FILE } from '../artifact/contract';
import { trunkProblem } from '../artifact/validate-tensor-set';
import { parseModelDims } from '../arch/parse-model-dims';
import { sourceLabel, sourceRecord } from './source-record';

export interface GraftOptions extends Pick<ConvertOptions, 'force' | 'threads' | 'rounding' | 'resume' | 'onProgress' | 'hub' | 'beforePublish' | 'signal' | 'onNote'> {
  trunk: string;
  mtpSource: string;
  out: string;
  policy: PolicyChoice;
}

/** Files of the trunk we write ourselves instead of linking. */
const REWRITTEN = new Set(['config.json', 'README.md', RUNTIME_CONTRACT_FILE]);

/** The two checkpoints must describe the same model; each mismatch names both files and the field. */
export function checkGraftCompatible(trunk: TextConfig, head: TextConfig, trunkLabel: string, headLabel: string): void {
  const fields: [string, unknown, unknown][] = [
    ['architecture (model_type)', trunk.architecture, head.architecture],
    ['hidden_size', trunk.hiddenSize, head.hiddenSize],
    ['vocab_size', trunk.vocabSize, head.vocabSize],
    ['num_hidden_layers', trunk.numLayers, head.numLayers],
    ['tie_word_embeddings', trunk.tieWordEmbeddings, head.tieWordEmbeddings],
  ];
  for (const [field, a, b] of fields) {
    if (a !== b) {
      throw new InputError(`trunk and MTP source differ: ${field} is ${JSON.stringify(a)} in ${trunkLabel} but ${JSON.stringify(b)} in ${headLabel}`, {
        field,
      });
    }
  }
}

/** Hard link when the file system allows it (no bytes copied), else a copy; never overwrites. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await fsp.link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EMLINK') throw err;
    await fsp.copyFile(from, to, fsp.constants.COPYFILE_EXCL);
  }
}

export function runGraft(opts: GraftOptions): Promise<ConvertSummary> {
  return asInterruption(opts.signal, partialDirFor(opts.out), () => graftSources(opts));
}

async function graftSources(opts: GraftOptions): Promise<ConvertSummary> {
  const started = Date.now();
  const hub = abortableHub(opts.hub, opts.signal);
  const trunk = await openSource(opts.trunk, hub);
  let head: CheckpointSource | undefined;
  try {
    head = await openSource(opts.mtpSource, hub);
    await checkOutputPath(opts.out, opts.force, [trunk.localDir, head.localDir].filter((d): d is string => !!d));
    const trunkConfig = await trunk.readJson<Record<string, unknown>>('config.json');
    const headConfig = await head.readJson<Record<string, unknown>>('config.json');
    if (!trunkConfig) throw new InputError('config.json is missing', { file: trunk.label });
    if (!headConfig) throw new InputError('config.json is missing', { file: head.label });
    const trunkDims = parseModelDims(trunkConfig, `${trunk.label}/config.json`);
    const trunkText = trunkDims.text;
    const headText = parseTextConfig(headConfig, `${head.label}/config.json`);
    checkGraftCompatible(trunkText, headText, trunk.label, head.label);
    const existing = [...trunk.tensors.keys()].find(isMtpTensor);
    if (existing) throw new InputError('the trunk already has an MTP head; graft adds one to a trunk without it', { file: trunk.label, tensor: existing });
    if (!trunk.listFiles) throw new InputError('this kind of source cannot list its files for a graft', { file: trunk.label });
    // The trunk's files are reused unchanged, so it must already be a complete model of its config.
    const bad = trunkProblem(trunkDims, trunkConfig, trunk.tensors);
    if (bad) throw new InputError(`the trunk is not a complete ${trunkDims.arch} model: ${bad}`, { file: trunk.label });

    // Raw-HF detection runs over all of the source's headers; only the head is planned.
    const plan = buildConversionPlan(head.label, headConfig, head.tensors, {
      vision: 'drop',
      mtp: 'keep',
      policy: opts.policy,
      select: (name) => isMtpTensor(name),
    });
    if (!plan.tensors.length) {
      throw new InputError('the MTP source has no mtp.* tensors to graft', { file: head.label });
    }
    const trunkFiles = (await trunk.listFiles()).filter((f) => !REWRITTEN.has(f) && !f.startsWith('.'));
    const trunkDir = trunk.localDir;
    // A local trunk is hard-linked (no bytes copied); a Hub trunk is downloaded whole into the cache and copied.
    const place = async (f: string, dest: string): Promise<void> => {
      if (trunkDir) await linkOrCopy(path.join(trunkDir, f), dest);
      else if (!(await trunk.copyFile(f, dest))) throw new InputError('listed trunk file is missing', { file: `${trunk.label}/${f}` });
    };
    return await writeArtifact(head, plan, {
      ...opts,
      keepVision: false,
      mtpLayout: 'sidecar',
      graft: {
        prepare: async (dir) => {
          for (const f of trunkFiles) await place(f, path.join(dir, f));
          const prov = trunk.provenance();
          return {
            baseTrunk: sourceLabel(prov),
            trunkSource: sourceRecord(prov),
            config: trunkConfig,
            files: trunkFiles,
            bitsPerWeight: await trunkBitsPerWeight(trunk, trunkConfig),
          };
        },
      },
    }, started);
  } finally {
    await head?.close();
    await trunk.close();
  }
}

/**
 * Stored bits per parameter of the trunk: parameters from its index's total_parameters (mlx-lm writes
 * it), else counted from the tensors, a packed U32 weight holding 32 / bits parameters per element
 * (bits from the config's quantization block, per module when it has an entry).
 */
export async function trunkBitsPerWeight(trunk: CheckpointSource, config: Record<string, unknown>): Promise<number | undefined> {
  const index = await trunk.readJson<{ metadata?: { total_parameters?: number } }>('model.safetensors.index.json');
  let bytes = 0;
  for (const t of trunk.tensors.values()) bytes += tensorBytes(t.dtype, t.shape);
  const recorded = index?.metadata?.total_parameters;
  const params = typeof recorded === 'number' && recorded > 0 ? recorded : countParameters(trunk.tensors, config);
  return params > 0 ? (bytes * 8) / params : undefined;
}

function countParameters(tensors: CheckpointSource['tensors'], config: Record<string, unknown>): number {
  const q = (config.quantization ?? config.quantization_config) as Record<string, unknown> | undefined;
  const bitsOf = (module: string): number | undefined => {
    const own = q?.[module] as { bits?: unknown } | undefined;
    const bits = typeof own?.bits === 'number' ? own.bits : q?.bits;
    return typeof bits === 'number' && bits > 0 ? bits : undefined;
  };
  let params = 0;
  for (const [name, t] of tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    const module = name.replace(/\.(weight|scales|biases)$/, '');
    const packed = tensors.has(`${module}.scales`);
    if (packed && name !== `${module}.weight`) continue; // scales / biases: storage, not parameters
    const bits = packed && t.dtype === 'U32' ? bitsOf(module) : undefined;
    params += bits ? (n * 32) / bits : n;
  }
  return params;
}
