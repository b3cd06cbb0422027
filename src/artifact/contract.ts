/**
 * The MTPLX runtime contract `mtplx_runtime.json` (youssofal/MTPLX mtplx/artifacts.py, mtplx/backends/registry.py, mtplx/constants.py) plus our provenance
 * block. Honest by construction: until a smoke test records an exactness result the baseline status is
 * `pending_smoke_test` (MTPLX labels such artifacts unverified but still runs them), and `verified_on`
 * only states where and when the file was written.
 */
import * as os from 'os';
import { InputError } from '../errors';
import type { Architecture } from '../arch/architecture';
import type { MtpLayout } from '../arch/mtp-key-sets';
import { MTP_SIDECAR_FILE } from '../arch/mtp-key-sets';
import type { FileChecksum } from '../checksum/checksums';
import type { MtpQuantSummary } from './contract-mtp-config';
import { validateRuntimeContract } from './contract-schema';
import type { GraftRecord } from './graft-record';
import type { ContractSource } from './contract-source';

export type { ContractSource } from './contract-source';

export { validateRuntimeContract } from './contract-schema';
export { contractBlockers } from './contract-blockers';
export type { FileChecksum } from '../checksum/checksums';
export type { MtpQuantSummary } from './contract-mtp-config';

export const RUNTIME_CONTRACT_FILE = 'mtplx_runtime.json';
/** MTPLX's arch id for Qwen3.5 / Qwen3.6 / Qwen3-Next MTP (dense and MoE). */
export const MTPLX_ARCH_ID = 'qwen3-next-mtp';
/** The MTPLX release whose contract format (registry.py) this file follows. */
export const MTPLX_CONTRACT_VERSION = '1.0.4';
/** MTPLX's default profile (`DEFAULT_PROFILE_NAME`). */
export const DEFAULT_PROFILE = 'sustained';
export const PROFILE_CHOICES: readonly string[] = ['stable', 'performance-cold', 'sustained', 'exact', 'max-diagnostic', 'turbo'];
export const PROFILE_ALIASES: Readonly<Record<string, string>> = {
  default: 'sustained', auto: 'sustained', 'sustained-max': 'sustained', sustained_max: 'sustained',
  safe: 'stable', long_response_exact_staged: 'stable',
  'native-mtp-60': 'performance-cold', native_mtp_60: 'performance-cold', native_mtp_60_cold: 'performance-cold',
  max: 'max-diagnostic',
};
/** MTPLX caps the public speculative depth at 3 (`MAX_PUBLIC_SPECULATIVE_DEPTH`). */
export const MAX_MTP_DEPTH = 3;
export const PENDING_SMOKE_TEST = 'pending_smoke_test';
/** MTPLX's default sampler (constants.py), also Qwen's recommended one. */
export const DEFAULT_SAMPLER: Readonly<SamplerSpec> = { temperature: 0.6, top_p: 0.95, top_k: 20 };

export interface SamplerSpec {
  temperature: number;
  top_p: number;
  top_k: number;
}


export interface ContractInput {
  architecture: Architecture;
  hiddenSize: number;
  /** `mtp_num_hidden_layers` of the artifact (> 0). */
  mtpLayers: number;
  layout: MtpLayout;
  /** Sidecar file name (default `mtp.safetensors`). */
  mtpFile?: string;
  /** Tensors stored for the head. */
  mtpTensorCount: number;
  /** dtype of the head's float tensors, lower case (`bf16`, `f16`). */
  mtpFloatDtype: string;
  /** undefined when the head is kept in float. */
  mtpQuant?: MtpQuantSummary;
  /** Policy name and its resolved rules (labels or rule objects). */
  policy: { name: string; rules: unknown[] };
  source: ContractSource;
  toolVersion: string;
  toolName?: string;
  inputChecksums?: FileChecksum[];
  outputChecksums?: FileChecksum[];
  /** MLX trunk the artifact was built on, when it was not converted from the source itself. */
  baseTrunk?: string;
  /** Overrides. */
  mtplxVersion?: string;
  recommendedProfile?: string;
  mtpDepthMax?: number;
  sampler?: SamplerSpec;
  draftSampler?: SamplerSpec;
  draftLmHead?: { bits: number; group_size: number; mode: 'affine' | 'symmetric' };
  artifactRole?: string;
  /** What a graft added the head to, and the pairing hashes. */
  graft?: GraftRecord;
  /** A recorded exactness result (from a smoke test); default: pending. */
  exactnessBaseline?: Record<string, unknown>;
  /** ISO 8601 timestamp; default now. */
  createdAt?: string;
  /** Conversion host; default from the os module. */
  host?: { platform: string; arch: string };
}

export interface MtpContractBlock {
  base_hidden_variant: 'pre_norm' | 'post_norm';
  hidden_variant: string;
  concat_order: 'embedding_hidden' | 'hidden_embedding';
  mtp_position_mode: 'cache' | 'local' | 'absolute';
  mtp_quant_bits: number | null;
  mtp_quant_group_size: number;
  mtp_quant_mode: string;
  mtp_quant_policy: 'all' | 'cyankiwi' | null;
  mtp_prequantized: boolean;
  mtp_prequantized_modules?: string[];
  mtp_prequantized_module_specs?: Record<string, { bits: number; group_size: number; mode: string }>;
}

export interface MtpkitProvenance {
  tool: { name: string; version: string };
  source: ContractSource;
  policy: { name: string; rules: unknown[] };
  mtp: { layout: MtpLayout; layers: number; tensors: number; file?: string; format: string };
  input_checksums: FileChecksum[];
  output_checksums: FileChecksum[];
  graft?: GraftRecord;
  created_at: string;
}

export interface RuntimeContract {
  mtplx_version: string;
  arch_id: string;
  mtp_depth_max: number;
  recommended_profile: string;
  exactness_baseline: Record<string, unknown>;
  verified_on: Record<string, unknown>;
  mtp_contract?: MtpContractBlock;
  sampler?: SamplerSpec;
  recommended_draft_sampler?: SamplerSpec;
  recommended_draft_lm_head?: { bits: number; group_size: number; mode: string };
  base_trunk?: string;
  mtp_sidecar?: string;
  mtp_file?: string;
  artifact_role?: string;
  mtpkit_provenance?: MtpkitProvenance;
  [key: string]: unknown;
}

/**
 * Draft depth by trunk width: wide trunks (hidden >= 4096: 9B, 27B) cost enough per token that depth 3
 * pays off (MTPLX's 27B packs ship 3); narrower ones (4B, and the A3B MoEs with hidden 2048) get 2,
 * as MTPLX's 4B packs do because depth 3 over-drafts a small head.
 */
export function defaultMtpDepthMax(hiddenSize: number): number {
  return hiddenSize >= 4096 ? 3 : 2;
}

/** The format token Forge writes in `mtp_sidecar` (`prequantized-mlx-affine`, `bf16`, ...). */
export function mtpFormatToken(quant: MtpQuantSummary | undefined, floatDtype: string): string {
  return quant ? `prequantized-mlx-${quant.mode}` : floatDtype.toLowerCase();
}

/** Profile name after alias resolution; undefined for unknown names. */
export function resolveProfile(name: string): string | undefined {
  if (PROFILE_CHOICES.includes(name)) return name;
  return PROFILE_ALIASES[name];
}

export function pendingExactnessBaseline(): Record<string, unknown> {
  return {
    status: PENDING_SMOKE_TEST,
    note: 'No exactness gate has run on this artifact yet: it was converted but not executed. MTPLX treats pending_* statuses as unverified.',
  };
}

export function buildRuntimeContract(input: ContractInput): RuntimeContract {
  if (!Number.isInteger(input.mtpLayers) || input.mtpLayers <= 0) {
    throw new InputError(`an MTPLX contract needs an MTP head, but mtp_num_hidden_layers is ${input.mtpLayers}`, { field: 'mtp_num_hidden_layers' });
  }
  const depth = input.mtpDepthMax ?? defaultMtpDepthMax(input.hiddenSize);
  if (!Number.isInteger(depth) || depth < 1 || depth > MAX_MTP_DEPTH) {
    throw new InputError(`MTP depth must be an integer from 1 to ${MAX_MTP_DEPTH} (MTPLX's cap), got ${depth}`, { field: 'mtp_depth_max' });
  }
  const profile = input.recommendedProfile ?? DEFAULT_PROFILE;
  if (!resolveProfile(profile)) {
    throw new InputError(`unknown MTPLX profile '${profile}'; choose one of ${[...PROFILE_CHOICES, ...Object.keys(PROFILE_ALIASES)].join(', ')}`, { field: 'recommended_profile' });
  }
  const createdAt = input.createdAt ?? new Date().toISOString();
  const host = input.host ?? { platform: os.platform(), arch: os.arch() };
  const toolName = input.toolName ?? 'mtpkit';
  const q = input.mtpQuant;
  const format = mtpFormatToken(q, input.mtpFloatDtype);
  const mtpFile = input.layout === 'sidecar' ? input.mtpFile ?? MTP_SIDECAR_FILE : undefined;

  const mtpContract: MtpContractBlock = {
    // MTPLX's defaults; no calibration has been run to pick other variants (§3).
    base_hidden_variant: 'post_norm',
    hidden_variant: 'post_norm',
    concat_order: 'embedding_hidden',
    mtp_position_mode: 'cache',
    mtp_quant_bits: q ? q.bits : null,
    mtp_quant_group_size: q ? q.groupSize : 64,
    mtp_quant_mode: q ? q.mode : 'affine',
    mtp_quant_policy: q ? q.policy : null,
    mtp_prequantized: !!q,
  };
  if (q) {
    mtpContract.mtp_prequantized_modules = [...q.modules];
    mtpContract.mtp_prequantized_module_specs = Object.fromEntries(q.modules.map((m) => [m, { ...q.moduleSpecs[m] }]));
  }

  const contract: RuntimeContract = {
    mtplx_version: input.mtplxVersion ?? MTPLX_CONTRACT_VERSION,
    arch_id: MTPLX_ARCH_ID,
    mtp_depth_max: depth,
    recommended_profile: profile,
    exactness_baseline: input.exactnessBaseline ?? pendingExactnessBaseline(),
    verified_on: {
      status: 'not_run',
      note: `Written by ${toolName} ${input.toolVersion} on the conversion host; the artifact has not been run on any hardware.`,
      tool: `${toolName} ${input.toolVersion}`,
      timestamp: createdAt,
      host_platform: host.platform,
      host_arch: host.arch,
    },
    mtp_contract: mtpContract,
    // MTPLX's own defaults unless told otherwise; no speed or acceptance evidence was measured with them.
    sampler: { ...(input.sampler ?? DEFAULT_SAMPLER) },
    recommended_draft_sampler: { ...(input.draftSampler ?? DEFAULT_SAMPLER) },
    mtp_sidecar: format,
    artifact_role: input.artifactRole ?? `${toolName}-convert`,
  };
  if (input.draftLmHead) contract.recommended_draft_lm_head = { ...input.draftLmHead };
  if (input.baseTrunk) contract.base_trunk = input.baseTrunk;
  if (mtpFile) contract.mtp_file = mtpFile;
  contract.mtpkit_provenance = {
    tool: { name: toolName, version: input.toolVersion },
    source: { ...input.source },
    policy: { name: input.policy.name, rules: input.policy.rules },
    mtp: { layout: input.layout, layers: input.mtpLayers, tensors: input.mtpTensorCount, ...(mtpFile ? { file: mtpFile } : {}), format },
    input_checksums: (input.inputChecksums ?? []).map((c) => ({ ...c })),
    output_checksums: (input.outputChecksums ?? []).map((c) => ({ ...c })),
    ...(input.graft ? { graft: input.graft } : {}),
    created_at: createdAt,
  };
  const problems = validateRuntimeContract(contract, RUNTIME_CONTRACT_FILE);
  if (problems.length) {
    // Bad user-supplied values (e.g. a checksum that is not hex) land here too.
    throw new InputError(`the runtime contract would be invalid: ${problems.join('; ')}`);
  }
  return contract;
}

/** JSON text of the contract (indent 2, trailing newline). */
export function formatRuntimeContract(contract: RuntimeContract): string {
  return JSON.stringify(contract, null, 2) + '\n';
}

/** Narrow helper for callers that hold an untyped object. */
export function assertRuntimeContract(obj: unknown, file = RUNTIME_CONTRACT_FILE): RuntimeContract {
  const problems = validateRuntimeContract(obj, file);
  if (problems.length) throw new InputError(problems.join('; '));
  return obj as RuntimeContract;
}
