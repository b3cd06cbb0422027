/**
 * The sizes that fix every tensor's shape, read from config.json (text_config or flat) with mlx-lm's
 * defaults where a field is absent (ml-explore/mlx-lm mlx_lm/models/qwen3_5.py TextModelArgs,
 * qwen3_next.py ModelArgs). Conversion, validation and the engine all derive shapes from this.
 */
import type { Architecture } from './architecture-id';
import type { TextConfig } from './text-config';

export interface ModelDims {
  text: TextConfig;
  arch: Architecture;
  hidden: number;
  vocab: number;
  layers: number;
  /** Per decoder layer: full attention (else Gated DeltaNet linear attention). */
  layerFull: boolean[];
  /** Per decoder layer: sparse MoE MLP (else dense MLP). */
  layerMoe: boolean[];
  nHeads: number;
  nKv: number;
  headDim: number;
  /** GDN key / value heads and head dims. */
  nk: number;
  nv: number;
  dk: number;
  dv: number;
  convK: number;
  intermediate: number;
  nExperts: number;
  moeInter: number;
  /** 0: no shared expert. */
  sharedInter: number;
  tie: boolean;
  mtpLayers: number;
}
