/** Reads ModelDims from config.json; a field the shapes need but cannot be read is an InputError naming it. */
import { InputError } from '../errors';
import { parseTextConfig } from './text-config';
import { archProfile } from './registry';
import type { ModelDims } from './model-dims';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseModelDims(config: Json, file = 'config.json'): ModelDims {
  const text = parseTextConfig(config, file);
  const raw = (isObj(config.text_config) ? config.text_config : config) as Json;
  const prefix = isObj(config.text_config) ? 'text_config.' : '';
  const profile = archProfile(text.architecture);
  // mlx-lm: head_dim absent means hidden_size / num_attention_heads.
  const headDim = raw.head_dim === undefined || raw.head_dim === null ? Math.floor(text.hiddenSize / Math.max(1, text.numAttentionHeads)) : text.headDim;
  const nExperts = text.numExperts ?? 0;
  const layerMoe = text.layerTypes.map((_, i) => nExperts > 0 && profile.sparseLayer(i, raw));
  const need = (v: number | undefined, field: string): number => {
    if (v === undefined || v <= 0) throw new InputError('missing or zero, but the model needs it', { file, field: prefix + field });
    return v;
  };
  if (profile.requiresExperts && nExperts <= 0) throw new InputError(`a ${text.architecture} model needs num_experts > 0`, { file, field: prefix + 'num_experts' });
  const anyDense = layerMoe.some((m) => !m);
  return {
    text,
    arch: text.architecture,
    hidden: need(text.hiddenSize, 'hidden_size'),
    vocab: need(text.vocabSize, 'vocab_size'),
    layers: text.numLayers,
    layerFull: text.layerTypes.map((t) => t === 'full_attention'),
    layerMoe,
    nHeads: need(text.numAttentionHeads, 'num_attention_heads'),
    nKv: need(text.numKeyValueHeads, 'num_key_value_heads'),
    headDim,
    nk: text.linearNumKeyHeads,
    nv: text.linearNumValueHeads,
    dk: text.linearKeyHeadDim,
    dv: text.linearValueHeadDim,
    convK: need(text.convKernel, 'linear_conv_kernel_dim'),
    intermediate: anyDense ? need(text.intermediateSize, 'intermediate_size') : text.intermediateSize ?? 0,
    nExperts,
    moeInter: nExperts > 0 ? need(text.moeIntermediateSize, 'moe_intermediate_size') : 0,
    sharedInter: text.sharedExpertIntermediateSize ?? 0,
    tie: text.tieWordEmbeddings,
    mtpLayers: text.mtpNumHiddenLayers,
  };
}
