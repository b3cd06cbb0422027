/**
 * Everything an artifact needs besides its tensor files: index, config.json, tokenizer and other assets,
 * the model card and, last (it checksums the rest), the `mtplx_runtime.json` contract.
 */
import * as os from 'os';
import * as path from 'path';
import { writeIndexFile } from '../safetensors/index-file';
import { writeFileAtomic } from '../safetensors/writer';
import { buildQuantizationConfig } from '../quant/policy';
import { buildMtpConfigKeys, mtpQuantFromPlan } from '../artifact/contract-mtp-config';
import { buildRuntimeContract, formatRuntimeContract, RUNTIME_CONTRACT_FILE } from '../artifact/contract';
import type { FileChecksum } from '../checksum/checksums';
import { cardComponentsFromPlan, renderModelCard } from './model-card';
import { toolInfo } from '../version';
import { buildOutputConfig, formatConfigJson } from './output-config';
import { copyAssets } from '../source/assets';
import { toShardPlan } from './shard-layout';
import { storedTensorCount, type ArtifactLayout } from './artifact-layout';
import type { ConversionPlan } from './conversion-plan';
import type { CheckpointSource, InputFileDigest } from '../source/checkpoint-source';
import type { FileDigest } from './execute-plan';
import { moduleOf } from '../plan/output-specs';
import { planStats } from './plan-stats';
import { numel } from '../safetensors/types';
import { sha256File } from '../checksum/checksums';
import { sourceRecord } from './source-record';
import { contentSha256, trunkQuantization, type GraftRecord } from '../artifact/graft-record';
import type { ContractSource } from '../artifact/contract';

export interface FinishInput {
  plan: ConversionPlan;
  layout: ArtifactLayout;
  src: CheckpointSource;
  dir: string;
  /** sha256/size of every tensor file written (or reused). */
  shardDigests: Map<string, FileDigest>;
  inputDigests: InputFileDigest[];
  keepVision: boolean;
  /** Graft: the MLX trunk the head was added to (its files are already in `dir`, unchanged). */
  graft?: {
    /** `org/name@commit` or the trunk folder's base name. */
    baseTrunk: string;
    trunkSource: ContractSource;
    /** The trunk's config.json, the base of ours (its `quantization` block is kept as is). */
    config: Record<string, unknown>;
    /** Trunk files in `dir` (shards, index, assets) to checksum and list. */
    files: string[];
    /** Trunk bits per weight, when the trunk's index records total_parameters. */
    bitsPerWeight?: number;
  };
}

/** Parameters counted as mlx-lm does: a quantized weight at its unpacked size. */
export function totalParameters(plan: ConversionPlan, layout: ArtifactLayout): number {
  const indexed = new Set(layout.indexed.flatMap((l) => l.shards.flatMap((s) => s.units.map((u) => u.tensor.name))));
  return plan.tensors.filter((t) => indexed.has(t.name)).reduce((a, t) => a + numel(t.shape), 0);
}

export async function finishArtifact(x: FinishInput): Promise<string[]> {
  const { plan, layout, dir } = x;
  const files: string[] = [];
  if (x.graft) files.push(...x.graft.files);
  else files.push(path.basename(await writeIndexFile(dir, toShardPlan(layout.indexed), totalParameters(plan, layout))));

  const mtpTensors = plan.tensors.filter((t) => t.group === 'mtp' && t.quant?.action !== 'drop');
  const mtpLayers = mtpTensors.length ? Number(plan.sanitize.configPatch.mtp_num_hidden_layers ?? plan.text.mtpNumHiddenLayers) : 0;
  const mtpStored = layout.sidecar ? storedTensorCount(layout.sidecar) : layout.indexed.reduce((a, l) => a + countMtp(l), 0);
  const mtpQuant = mtpTensors.length ? mtpQuantFromPlan(mtpTensors, plan.text) : undefined;
  const inQuantBlock = plan.tensors.filter((t) => t.group === 'trunk' || (layout.mtpLayout === 'inline' && t.group === 'mtp'));
  const quantization = x.graft
    ? (x.graft.config.quantization as Record<string, unknown> | undefined)
    : buildQuantizationConfig(
        inQuantBlock.map((t) => ({ module: moduleOf(t.name), decision: t.quant! })),
        plan.policy.globals as never,
      );
  const config = buildOutputConfig(x.graft?.config ?? plan.config, {
    keepVision: x.keepVision,
    // A graft's base config is the trunk's, which says 0 MTP layers: write what the artifact holds.
    text: { ...plan.sanitize.configPatch, ...(x.graft ? { mtp_num_hidden_layers: mtpLayers } : {}) },
    quantization,
    top: mtpTensors.length ? buildMtpConfigKeys({ layout: layout.mtpLayout, tensorCount: mtpStored, quant: mtpQuant }) : {},
  });
  await writeFileAtomic(path.join(dir, 'config.json'), formatConfigJson(config));
  files.push('config.json');
  if (!x.graft) files.push(...(await copyAssets(x.src, dir)));

  const prov = x.src.provenance();
  const source = sourceRecord(prov);
  const tool = toolInfo();
  const stats = planStats(plan.tensors);
  const mtpFloat = mtpTensors.find((t) => t.quant?.action !== 'quantize')?.dtype.toLowerCase() ?? 'bf16';

  const tensorFiles = layout.all.flatMap((l) => l.shards.map((s) => s.file));
  const checksumsOf = async (names: string[]): Promise<FileChecksum[]> => {
    const out: FileChecksum[] = [];
    for (const f of names) {
      const d = x.shardDigests.get(f) ?? (await sha256File(path.join(dir, f)));
      out.push({ file: f, size: d.size, sha256: d.sha256 });
    }
    return out;
  };

  const cardFiles = [...tensorFiles, ...files.filter((f) => !tensorFiles.includes(f))];
  const graftRecord = x.graft && layout.sidecar ? await recordGraft(x.graft, source, layout.sidecar.shards[0].file, checksumsOf) : undefined;
  const inputFiles = x.inputDigests.map((d) => ({ file: d.path, size: d.size, sha256: d.sha256 }));
  const card = renderModelCard({
    baseModel: prov.kind === 'hub' ? prov.repo : path.basename(prov.path),
    baseModelIsRepo: prov.kind === 'hub',
    sourceRevision: prov.kind === 'hub' ? prov.commit : undefined,
    sourceFiles: prov.kind === 'local' ? inputFiles : undefined,
    graft: graftRecord,
    license: licenseOf(plan.config, await x.src.readText?.('README.md')),
    architecture: plan.text.architecture,
    components: cardComponentsFromPlan(plan.tensors),
    policy: { name: plan.policy.name, rules: plan.policy.rules.map((r) => r.label) },
    bitsPerWeight: { trunk: x.graft ? x.graft.bitsPerWeight ?? 0 : stats.trunk.bitsPerWeight, mtp: stats.mtp.tensors ? stats.mtp.bitsPerWeight : undefined, vision: stats.vision.tensors ? stats.vision.bitsPerWeight : undefined },
    mtp: {
      layers: mtpLayers,
      tensors: mtpStored,
      layout: mtpTensors.length ? layout.mtpLayout : 'none',
      file: layout.sidecar ? layout.sidecar.shards[0].file : undefined,
    },
    files: (await checksumsOf(cardFiles)).map((c) => ({ file: c.file, size: c.size, sha256: c.sha256 })),
    tool,
    verification: { status: 'pending_smoke_test' },
  });
  await writeFileAtomic(path.join(dir, 'README.md'), card);
  cardFiles.push('README.md');

  if (mtpLayers > 0) {
    const contract = buildRuntimeContract({
      architecture: plan.text.architecture,
      hiddenSize: plan.text.hiddenSize,
      mtpLayers,
      layout: layout.mtpLayout,
      mtpTensorCount: mtpStored,
      mtpFloatDtype: mtpFloat,
      mtpQuant,
      policy: { name: plan.policy.name, rules: plan.policy.rules.map((r) => r.label) },
      source,
      toolName: tool.name,
      toolVersion: tool.version,
      inputChecksums: inputFiles,
      outputChecksums: await checksumsOf(cardFiles),
      baseTrunk: x.graft?.baseTrunk,
      ...(graftRecord ? { graft: graftRecord, artifactRole: `${tool.name}-graft` } : {}),
      host: { platform: os.platform(), arch: os.arch() },
    });
    await writeFileAtomic(path.join(dir, RUNTIME_CONTRACT_FILE), formatRuntimeContract(contract));
    cardFiles.push(RUNTIME_CONTRACT_FILE);
  }
  return [...tensorFiles, ...cardFiles.filter((f) => !tensorFiles.includes(f))];
}

/** The trunk's identity and quantization, and the head it is paired with (both by content hash). */
async function recordGraft(
  g: NonNullable<FinishInput['graft']>,
  headSource: ContractSource,
  headFile: string,
  checksumsOf: (names: string[]) => Promise<FileChecksum[]>,
): Promise<GraftRecord> {
  const weights = (await checksumsOf(g.files.filter((f) => f.endsWith('.safetensors')))).map((c) => ({ file: c.file, sha256: c.sha256! }));
  const [head] = await checksumsOf([headFile]);
  return {
    trunk: {
      ...g.trunkSource,
      quantization: trunkQuantization(g.config),
      ...(g.bitsPerWeight !== undefined ? { bits_per_weight: Math.round(g.bitsPerWeight * 1000) / 1000 } : {}),
      files: weights,
      content_sha256: contentSha256(weights),
    },
    head: { source: headSource, file: headFile, sha256: head.sha256! },
  };
}

function countMtp(l: { shards: { units: { tensor: { group: string }; specs: unknown[] }[] }[] }): number {
  return l.shards.reduce((a, s) => a + s.units.filter((u) => u.tensor.group === 'mtp').reduce((b, u) => b + u.specs.length, 0), 0);
}

/** The source's license: its model card's front matter (`license: apache-2.0`), else a config key. */
export function licenseOf(config: Record<string, unknown>, readme: string | undefined): string | undefined {
  const front = readme?.match(/^---\r?\n([\s\S]*?)\r?\n---/);
  const line = front?.[1].match(/^license:\s*["']?([^"'\s#]+)/m);
  if (line) return line[1];
  return typeof config.license === 'string' ? config.license : undefined;
}
