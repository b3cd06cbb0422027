/**
 * MoE expert layouts (ml-explore/mlx-lm mlx_lm/models/qwen3_5.py and qwen3_next.py, `sanitize`): fused `experts.gate_up_proj` [E, 2·Im, H] is split along
 * axis 1 into gate/up, fused `experts.down_proj` is renamed, and per-expert
 * `experts.{e}.{gate,up,down}_proj.weight` tensors are stacked into `switch_mlp.*` [E, out, in].
 */
import { InputError } from '../errors';
import type { TensorInfo } from '../safetensors/types';
import type { SourceRef, Transform } from '../plan/types';

export interface ExpertOutput {
  /** Output name in source naming space (the caller maps it to MLX naming). */
  sourceStyleName: string;
  sources: SourceRef[];
  transforms: Transform[];
  shape: number[];
  note: string;
}

const FUSED_GATE_UP = /^(.*\.mlp)\.experts\.gate_up_proj$/;
const FUSED_DOWN = /^(.*\.mlp)\.experts\.down_proj$/;
const PER_EXPERT = /^(.*\.mlp)\.experts\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$/;

export function isExpertTensor(name: string): boolean {
  return FUSED_GATE_UP.test(name) || FUSED_DOWN.test(name) || PER_EXPERT.test(name);
}

const ref = (t: TensorInfo, slice?: SourceRef['slice']): SourceRef => ({
  tensor: t.name,
  dtype: t.dtype,
  shape: t.shape,
  ...(slice ? { slice } : {}),
});

/**
 * Plans every expert output of the checkpoint. `numExperts` comes from the config; a missing expert
 * is an error naming the layer and the expert.
 */
export function planExperts(tensors: Map<string, TensorInfo>, numExperts: number | undefined, file: string): ExpertOutput[] {
  const out: ExpertOutput[] = [];
  const perExpert = new Map<string, Map<string, Map<number, TensorInfo>>>(); // prefix -> proj -> e -> info

  for (const t of tensors.values()) {
    let m: RegExpMatchArray | null;
    if ((m = t.name.match(FUSED_GATE_UP))) {
      if (t.shape.length !== 3 || t.shape[1] % 2 !== 0) {
        throw new InputError(`fused gate_up_proj must be [E, 2*Im, H], got [${t.shape}]`, { file, tensor: t.name });
      }
      const [e, twoIm, h] = t.shape;
      const im = twoIm / 2;
      out.push({
        sourceStyleName: `${m[1]}.switch_mlp.gate_proj.weight`,
        sources: [ref(t, { axis: 1, start: 0, end: im })],
        transforms: [],
        shape: [e, im, h],
        note: `split ${t.name}[:, 0:${im}, :]`,
      });
      out.push({
        sourceStyleName: `${m[1]}.switch_mlp.up_proj.weight`,
        sources: [ref(t, { axis: 1, start: im, end: twoIm })],
        transforms: [],
        shape: [e, im, h],
        note: `split ${t.name}[:, ${im}:${twoIm}, :]`,
      });
    } else if ((m = t.name.match(FUSED_DOWN))) {
      if (t.shape.length !== 3) {
        throw new InputError(`fused down_proj must be [E, H, Im], got [${t.shape}]`, { file, tensor: t.name });
      }
      out.push({
        sourceStyleName: `${m[1]}.switch_mlp.down_proj.weight`,
        sources: [ref(t)],
        transforms: [],
        shape: [...t.shape],
        note: `rename ${t.name}`,
      });
    } else if ((m = t.name.match(PER_EXPERT))) {
      const [, prefix, e, proj] = m;
      const byProj = perExpert.get(prefix) ?? new Map<string, Map<number, TensorInfo>>();
      perExpert.set(prefix, byProj);
      const byE = byProj.get(proj) ?? new Map<number, TensorInfo>();
      byProj.set(proj, byE);
      byE.set(Number(e), t);
    }
  }

  for (const [prefix, byProj] of perExpert) {
    for (const proj of ['gate_proj', 'up_proj', 'down_proj']) {
      const byE = byProj.get(proj);
      if (!byE) {
        throw new InputError(`per-expert ${proj} tensors are missing for all experts of ${prefix}`, { file, tensor: `${prefix}.experts.0.${proj}.weight` });
      }
      const count = numExperts ?? Math.max(...byE.keys()) + 1;
      const sources: SourceRef[] = [];
      let first: TensorInfo | undefined;
      for (let e = 0; e < count; e++) {
        const t = byE.get(e);
        if (!t) {
          throw new InputError(`${prefix}: expert ${e} of ${count} is missing (${proj})`, {
            file,
            tensor: `${prefix}.experts.${e}.${proj}.weight`,
          });
        }
        first ??= t;
        if (t.shape.length !== 2 || t.dtype !== first.dtype || t.shape.join() !== first.shape.join()) {
          throw new InputError(
            `expert ${e} has ${t.dtype}[${t.shape}] but expert 0 has ${first.dtype}[${first.shape}]`,
            { file, tensor: t.name },
          );
        }
        sources.push(ref(t));
      }
      const extra = [...byE.keys()].filter((e) => e >= count);
      if (extra.length) {
        throw new InputError(`${prefix}: expert index ${extra[0]} is beyond num_experts=${count}`, {
          file,
          tensor: `${prefix}.experts.${extra[0]}.${proj}.weight`,
        });
      }
      out.push({
        sourceStyleName: `${prefix}.switch_mlp.${proj}.weight`,
        sources,
        transforms: [{ kind: 'stack' }],
        shape: [count, ...first!.shape],
        note: `stack ${count} experts ${prefix}.experts.{0..${count - 1}}.${proj}.weight`,
      });
    }
  }
  return out;
}
