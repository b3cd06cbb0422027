/**
 * Built-in policies, written as policy JSON data (the same schema users write) plus the documentation
 * `mtpkit policies` prints. Sources: ml-explore/mlx-lm mlx_lm/utils.py and mlx_lm/convert.py (uniform, mixed_*), youssofal/MTPLX mtplx/artifacts.py, mtplx/backends/registry.py, mtplx/constants.py
 * §9 (body-int4, gdn8-speed4, FP16 variants).
 */
import type { ModuleRole } from '../../plan/types';
import { InputError } from '../../errors';
import { QUANTIZABLE_ROLES } from '../../arch/tensor-facts';
import type { PolicyFile, QuantizeSpec } from './types';

export interface BuiltinPolicy {
  name: string;
  /** One line for the list. */
  summary: string;
  /** Longer explanation, one paragraph per entry. */
  doc: string[];
  file: PolicyFile;
  /** Rejects options the policy cannot honour; returns notes for the user. */
  check?: (opts: { bits?: number; groupSize?: number; mode?: string }) => string[];
}

const AFFINE_8_64: QuantizeSpec = { mode: 'affine', bits: 8, group_size: 64 };
const AFFINE_4_64: QuantizeSpec = { mode: 'affine', bits: 4, group_size: 64 };
const ALL_QUANTIZABLE = [...QUANTIZABLE_ROLES] as ModuleRole[];

const none: BuiltinPolicy = {
  name: 'none',
  summary: 'keep every tensor as it is (no quantization)',
  doc: ['Every tensor keeps its source dtype. Combine with +fp16 to convert the float tensors to float16.'],
  file: {
    name: 'none',
    description: 'keep every tensor in its source dtype',
    rules: [{ match: {}, action: { keep: 'source' }, note: 'keep everything' }],
  },
};

const uniform: BuiltinPolicy = {
  name: 'uniform',
  summary: 'mlx-lm convert -q parity: every linear/embedding at --bits/--group-size/--mode, routers 8-bit',
  doc: [
    'Same choices as `mlx_lm.convert -q` with the model\'s own quant_predicate: every Linear, Embedding and ' +
      'SwitchLinear weight is quantized at the global params (--mode affine|mxfp4|nvfp4|mxfp8; when --bits / ' +
      '--group-size are omitted they follow the mode: affine 4/64, mxfp4 4/32, nvfp4 4/16, mxfp8 8/32).',
    'MoE routers (mlp.gate) and shared_expert_gate use affine 8-bit group 64, as the qwen3_5_moe and ' +
      'qwen3_next quant_predicate return {group_size: 64, bits: 8}; this also applies to an MoE MTP head.',
    'The MTP head is treated like the mlx-lm MTP branch (PR #990 at f840f6c): all of its linears, mtp.fc ' +
      'included, are quantized at the global params. Norms, conv1d, A_log and dt_bias stay unquantized in ' +
      'their source dtype. Vision tower tensors (dropped by mlx-lm) are kept as they are.',
  ],
  file: {
    name: 'uniform',
    description: 'mlx-lm default convert parity',
    defaults: { mode: 'affine', bits: 4, group_size: 64 },
    rules: [
      { match: { role: 'router' }, action: { quantize: AFFINE_8_64 }, note: 'quant_predicate: mlp.gate / shared_expert_gate' },
      { match: { role: 'mtp', sub_role: 'router' }, action: { quantize: AFFINE_8_64 }, note: 'MTP MoE router, same predicate' },
      { match: { role: ALL_QUANTIZABLE }, action: { quantize: {} }, note: 'every quantizable module at the globals' },
    ],
  },
};

const MIXED: Array<[string, number, number]> = [
  ['mixed_2_6', 2, 6],
  ['mixed_3_4', 3, 4],
  ['mixed_3_6', 3, 6],
  ['mixed_4_6', 4, 6],
];

function mixed([name, low, high]: [string, number, number]): BuiltinPolicy {
  return {
    name,
    summary: `mlx-lm --quant-predicate ${name}: ${low}-bit, ${high}-bit for lm_head and some v_proj/down_proj`,
    doc: [
      `Exactly mlx-lm's mixed_quant_predicate_builder('${name}'), modelled on llama.cpp Q4_K_M: affine only, ` +
        `${high} bits for lm_head and for v_proj / v_a_proj / v_b_proj / down_proj (experts and shared expert ` +
        `included) in layers where use_more_bits(idx) holds, ${low} bits for every other quantizable module.`,
      'use_more_bits(idx) = idx < L//8 or idx >= 7*L//8 or (idx - L//8) % 3 == 2, with L the number of decoder ' +
        'layers and idx read from the module path at the position of the layer number (3 for ' +
        '`language_model.model.layers.N`, 2 for Qwen3-Next `model.layers.N`; MTP paths `language_model.mtp.layers.0` ' +
        'read 0, paths too short to have one, such as embed_tokens, lm_head and mtp.fc, read 0).',
      'The model\'s own predicate is not applied, so MoE routers and shared_expert_gate get the low bits too. ' +
        'Group size: --group-size, else 64 (mlx-lm writes "group_size": null in that case and the layer class ' +
        'falls back to 64). A --mode other than affine is refused (so does mlx-lm); --bits is refused too, ' +
        'because the recipe fixes its bits (mlx-lm silently ignores it).',
    ],
    file: {
      name,
      description: `mlx-lm mixed recipe ${name}`,
      defaults: { mode: 'affine', bits: low, group_size: 64 },
      rules: [
        {
          match: { role: ALL_QUANTIZABLE, regex: 'v_proj|v_a_proj|v_b_proj|down_proj', use_more_bits: true },
          action: { quantize: { mode: 'affine', bits: high } },
          note: 'v_proj / down_proj where use_more_bits',
        },
        { match: { role: ALL_QUANTIZABLE, regex: 'lm_head' }, action: { quantize: { mode: 'affine', bits: high } }, note: 'lm_head always high' },
        { match: { role: ALL_QUANTIZABLE }, action: { quantize: { mode: 'affine', bits: low } }, note: 'everything else low' },
      ],
    },
    check: (opts) => {
      if (opts.bits !== undefined) {
        throw new InputError(`--bits cannot be used with ${name}: the recipe fixes its bits (${low} and ${high})`);
      }
      if (opts.mode !== undefined && opts.mode !== 'affine') {
        throw new InputError(`${name} supports only --mode affine (got ${opts.mode}), as mlx-lm's recipes do`);
      }
      return opts.groupSize === undefined
        ? [`${name}: no --group-size given, using 64 (mlx-lm would write "group_size": null and fall back to 64)`]
        : [];
    },
  };
}

const bodyInt4: BuiltinPolicy = {
  name: 'body-int4',
  summary: 'MTP head: layer-body linears affine 4-bit g64, mtp.fc and norms bf16; trunk untouched',
  doc: [
    'The MTPLX "cyankiwi" / body-int4 head layout. Dense head: exactly the 7 layer linears (self_attn ' +
      'q/k/v/o, mlp gate/up/down) are quantized affine 4-bit group 64; mtp.fc and all MTP norms are kept in ' +
      'bf16, giving 15 + 7 scales + 7 biases = 29 tensors.',
    'MoE head: attention q/k/v/o, the switch_mlp experts and the shared expert gate/up/down are 4-bit g64; ' +
      'the router (mlp.gate) and shared_expert_gate stay bf16, because they are tiny and quantized MoE MTP ' +
      'heads lose most of their acceptance (5-11 % vs 79-85 % bf16, MTPLX FORGE_BACKEND_CONTRACT §6).',
    'Trunk tensors match no rule and keep their source dtype, so graft can use this policy without ever ' +
      're-quantizing a trunk.',
  ],
  file: {
    name: 'body-int4',
    description: 'MTP head policy (MTPLX cyankiwi layout)',
    defaults: { mode: 'affine', bits: 4, group_size: 64 },
    rules: [
      {
        match: { role: 'mtp', sub_role: ['attention', 'mlp', 'experts', 'shared_expert'] },
        action: { quantize: AFFINE_4_64 },
        note: 'MTP layer-body linears',
      },
      { match: { role: 'mtp', sub_role: 'router' }, action: { keep: 'bf16' }, note: 'MTP router / shared_expert_gate stay bf16' },
      { match: { role: 'mtp.fc' }, action: { keep: 'bf16' }, note: 'mtp.fc stays bf16' },
      { match: { mtp: true, role: 'norm' }, action: { keep: 'bf16' }, note: 'MTP norms stay bf16' },
    ],
  },
};

const gdn8Speed4: BuiltinPolicy = {
  name: 'gdn8-speed4',
  summary: 'GDN linears 8-bit, MLP/experts/attention/embedding/lm_head 4-bit, routers 8-bit; MTP head body-int4',
  doc: [
    'The Youssofal Qwen3.6-27B "GDN8-Speed4" layout: Gated DeltaNet linears (in_proj_qkv, in_proj_z, ' +
      'in_proj_b, in_proj_a, out_proj; in_proj_qkvz / in_proj_ba on Qwen3-Next) affine 8-bit group 64; ' +
      'dense MLP, MoE experts and shared expert, full-attention q/k/v/o, embed_tokens and lm_head at the ' +
      'defaults (affine 4-bit group 64, changed by --bits/--group-size/--mode); routers affine 8-bit g64.',
    'Norms, conv1d, A_log and dt_bias stay unquantized in their source dtype; a vision tower is kept in bf16. ' +
      'The MTP head follows body-int4. The card leaves attention/embedding/lm_head bits and group sizes ' +
      'unstated; 4-bit g64 is our choice.',
  ],
  file: {
    name: 'gdn8-speed4',
    description: 'GDN 8-bit, body 4-bit, MTP head body-int4',
    extends: 'body-int4',
    defaults: { mode: 'affine', bits: 4, group_size: 64 },
    rules: [
      { match: { role: 'gdn' }, action: { quantize: AFFINE_8_64 }, note: 'Gated DeltaNet linears' },
      { match: { role: 'router' }, action: { quantize: AFFINE_8_64 }, note: 'MoE routers / shared_expert_gate' },
      {
        match: { role: ['mlp', 'experts', 'shared_expert', 'attention', 'embedding', 'lm_head'] },
        action: { quantize: {} },
        note: 'body at the defaults',
      },
      { match: { role: 'vision' }, action: { keep: 'bf16' }, note: 'vision tower stays bf16' },
    ],
  },
};

const fp16: BuiltinPolicy = {
  name: 'fp16',
  summary: 'modifier (+fp16): float16 instead of bfloat16 for kept tensors and affine scales/biases (M1/M2)',
  doc: [
    'Adds no rules; combine it: gdn8-speed4+fp16, uniform+fp16, none+fp16. Every float tensor kept in float ' +
      '(bf16 or f32 source, and rules saying bf16) becomes float16, and weights are cast to float16 before ' +
      'quantizing so affine scales and biases are float16. An f32 A_log stays f32 (mlx-lm never casts A_log); ' +
      'a rule that explicitly keeps f32 is honoured. For M1/M2 Macs, which have no native bf16.',
  ],
  file: { name: 'fp16', description: 'float16 modifier', float_dtype: 'f16', rules: [] },
};

export const BUILTIN_POLICIES: readonly BuiltinPolicy[] = [
  none,
  uniform,
  ...MIXED.map(mixed),
  gdn8Speed4,
  bodyInt4,
  fp16,
];

export function findBuiltin(name: string): BuiltinPolicy | undefined {
  return BUILTIN_POLICIES.find((p) => p.name === name);
}
