/**
 * Facts about an output tensor, read from its final MLX name (ml-explore/mlx-lm mlx_lm/models/qwen3_5.py and qwen3_next.py, `sanitize`): which module it
 * belongs to, the role policies select on, its decoder layer and layer type, and MTP membership.
 * Works for prefixed Qwen3.5/3.6 names (`language_model.…`), unprefixed Qwen3-Next names and MTP
 * sidecar names (`mtp.…`).
 */
import { InputError } from '../errors';
import type { ModuleRole, TensorFacts } from '../plan/types';
import type { TextConfig } from './text-config';
import { archProfile } from './registry';

/** Roles an MTP layer-body linear would have in the trunk (exposed as `subRole`). */
export type MtpSubRole = 'attention' | 'mlp' | 'experts' | 'shared_expert' | 'router';

/**
 * TensorFacts plus `subRole`: for tensors with role `mtp` (linears inside `mtp.layers.N`) the role the same
 * module has in a trunk layer, so policies can treat the head's attention, MLP and router differently.
 */
export interface TensorFactsEx extends TensorFacts {
  subRole?: MtpSubRole;
}

/** Roles of modules that mlx-lm turns into Quantized{Linear,Embedding,SwitchLinear}. */
export const QUANTIZABLE_ROLES: readonly ModuleRole[] = [
  'gdn', 'attention', 'mlp', 'experts', 'shared_expert', 'router', 'embedding', 'lm_head', 'mtp', 'mtp.fc',
];

export const ALL_ROLES: readonly ModuleRole[] = [
  ...QUANTIZABLE_ROLES, 'norm', 'conv', 'gdn_param', 'vision', 'other',
];

export const MTP_SUB_ROLES: readonly MtpSubRole[] = ['attention', 'mlp', 'experts', 'shared_expert', 'router'];

/**
 * Whether a tensor can be quantized at all: the `weight` of a quantizable module with at least 2 dims.
 * Returns the reason when it cannot.
 */
export function quantizableReason(facts: TensorFacts, shape: readonly number[]): string | undefined {
  if (!QUANTIZABLE_ROLES.includes(facts.role)) return `${facts.role} tensors are never quantized`;
  if (facts.param !== 'weight') return `'${facts.param}' is not a module weight`;
  if (shape.length < 2) return `a ${shape.length}-D tensor cannot be quantized`;
  return undefined;
}

const LAYER_BODY: Array<[RegExp, ModuleRole]> = [
  [/^linear_attn\.(in_proj_[a-z]+|out_proj)$/, 'gdn'],
  [/^linear_attn\.conv1d$/, 'conv'],
  [/^self_attn\.[qkvo]_proj$/, 'attention'],
  [/^mlp\.(gate|up|down)_proj$/, 'mlp'],
  [/^mlp\.switch_mlp\.(gate|up|down)_proj$/, 'experts'],
  [/^mlp\.shared_expert\.(gate|up|down)_proj$/, 'shared_expert'],
];

/** Role of a tensor inside a decoder (or MTP) layer, from the path below `layers.N.` and its param. */
function layerBodyRole(sub: string, param: string, routers: readonly string[]): ModuleRole {
  const last = sub.slice(sub.lastIndexOf('.') + 1);
  if (routers.includes(sub)) return 'router';
  if (sub === 'linear_attn' && (param === 'A_log' || param === 'dt_bias')) return 'gdn_param';
  if (last.includes('norm') && param === 'weight') return 'norm';
  for (const [re, role] of LAYER_BODY) if (re.test(sub)) return role;
  return 'other';
}

function splitName(name: string): { module: string; param: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return { module: '', param: name };
  return { module: name.slice(0, dot), param: name.slice(dot + 1) };
}

const LAYER_RE = /^model\.layers\.(\d+)(?:\.(.+))?$/;
const MTP_LAYER_RE = /^mtp\.layers\.(\d+)(?:\.(.+))?$/;

export function describeTensor(name: string, cfg: TextConfig): TensorFactsEx {
  const { module, param } = splitName(name);
  const base = { module, param };
  const routers = archProfile(cfg.architecture).routerModules;
  if (/^(vision_tower|model\.visual|visual)\./.test(name)) return { ...base, role: 'vision', mtp: false };

  // The text-model path below the optional `language_model.` prefix.
  const inner = module.startsWith('language_model.') ? module.slice('language_model.'.length) : module;

  if (inner === 'mtp' || inner.startsWith('mtp.')) {
    const m = MTP_LAYER_RE.exec(inner);
    if (m) {
      const mtpLayer = Number(m[1]);
      const role = layerBodyRole(m[2] ?? '', param, routers);
      if (QUANTIZABLE_ROLES.includes(role)) {
        return { ...base, role: 'mtp', subRole: role as MtpSubRole, mtp: true, mtpLayer };
      }
      return { ...base, role, mtp: true, mtpLayer };
    }
    if (inner === 'mtp.fc') return { ...base, role: param === 'weight' ? 'mtp.fc' : 'other', mtp: true };
    if (inner.includes('norm') && param === 'weight') return { ...base, role: 'norm', mtp: true };
    return { ...base, role: 'other', mtp: true };
  }

  const m = LAYER_RE.exec(inner);
  if (m) {
    const layer = Number(m[1]);
    if (layer >= cfg.numLayers) {
      throw new InputError(`layer ${layer} is out of range: the config has ${cfg.numLayers} layers`, { tensor: name });
    }
    const layerType = cfg.layerTypes[layer] === 'full_attention' ? 'full' : 'linear';
    return { ...base, role: layerBodyRole(m[2] ?? '', param, routers), layer, layerType, mtp: false };
  }
  if (inner === 'model.embed_tokens') return { ...base, role: 'embedding', mtp: false };
  if (inner === 'lm_head') return { ...base, role: 'lm_head', mtp: false };
  if (inner === 'model.norm' && param === 'weight') return { ...base, role: 'norm', mtp: false };
  return { ...base, role: 'other', mtp: false };
}
