/**
 * An artifact's tensors against its architecture's expected set (src/arch/expected-tensors.ts): every
 * trunk module present with the shape config.json implies (packed shapes for quantized modules), no trunk
 * tensor the model has no place for, and the MTP head's shapes (its names are checked by validate-mtp.ts).
 */
import type { TensorInfo } from '../safetensors/types';
import type { ModelDims } from '../arch/model-dims';
import { expectedTensors, formatShape, quantizedShapes, type ExpectedTensor } from '../arch/expected-tensors';
import { isMtpTensor, isVisionTensor } from '../plan/tensor-names';
import { checkQuantization, type ResolvedSpec } from './validate-quantization';
import { listSome, type MtpPlacement } from './validate-mtp';

export interface TensorSetInput {
  dims: ModelDims;
  trunk: ReadonlyMap<string, TensorInfo>;
  sidecar?: { file: string; tensors: ReadonlyMap<string, TensorInfo> };
  /** Where the head is (validate-mtp.ts decided it). */
  mtp: MtpPlacement;
  /** Quantized modules and their specs (validate-quantization.ts), keyed by stored module path. */
  specs: ReadonlyMap<string, ResolvedSpec>;
  /** Tensors of missing or unreadable shards: already reported, not judged again. */
  unavailable?: ReadonlySet<string>;
}

const PARAMS = ['.weight', '.scales', '.biases'];

/** The stored shape the expected weight must have, given how (and whether) its module is quantized. */
function wantedShape(e: ExpectedTensor, modulePath: string, specs: ReadonlyMap<string, ResolvedSpec>): { shape: number[]; how: string } {
  const spec = e.module.kind === 'linear' ? specs.get(modulePath) : undefined;
  if (!spec) return { shape: e.shape, how: '' };
  const q = quantizedShapes(e.module, { bits: spec.bits, groupSize: spec.groupSize, affine: spec.mode === 'affine' })!;
  return { shape: q.weight, how: ` packed at ${spec.bits} bits (${spec.from})` };
}

export function checkTensorSet(input: TensorSetInput): string[] {
  const { dims, trunk, specs } = input;
  const unavailable = input.unavailable ?? new Set<string>();
  const problems: string[] = [];
  const missing: string[] = [];
  const judge = (e: ExpectedTensor, stored: ReadonlyMap<string, TensorInfo>, file: (t?: TensorInfo) => string) => {
    if (unavailable.has(e.name)) return;
    const t = stored.get(e.name);
    if (!t) {
      missing.push(`'${e.name}' ${formatShape(e.shape)} (${file()})`);
      return;
    }
    const modulePath = e.module.kind === 'linear' ? e.name.slice(0, -'.weight'.length) : e.name;
    const want = wantedShape(e, modulePath, specs);
    if (t.shape.join() !== want.shape.join()) {
      problems.push(`${file(t)}: tensor '${e.name}': shape ${formatShape(t.shape)} disagrees with config.json, which implies ${formatShape(want.shape)}${want.how}`);
    }
  };

  const trunkSet = expectedTensors(dims, { mtpLayers: 0 });
  for (const e of trunkSet.values()) judge(e, trunk, (t) => t?.shard ?? 'trunk shards');

  const mtpLayers = input.mtp === 'none' ? 0 : dims.text.mtpNumHiddenLayers;
  if (mtpLayers > 0) {
    const sidecar = input.mtp === 'sidecar' ? input.sidecar : undefined;
    const head = expectedTensors(dims, { trunk: false, mtpLayers, mtp: sidecar ? 'sidecar' : 'inline' });
    // Names missing from the head are reported by validate-mtp.ts; only shapes are judged here.
    for (const e of head.values()) {
      const stored = sidecar ? sidecar.tensors : trunk;
      if (stored.has(e.name)) judge(e, stored, (t) => (sidecar ? sidecar.file : t?.shard ?? 'trunk shards'));
    }
  }
  if (missing.length) problems.push(`trunk shards: ${missing.length} tensor(s) the config's ${dims.arch} model needs are missing: ${listSome(missing, 5, false)}`);

  // Trunk tensors the model has no place for (mlx-lm loads weights strictly, so it would refuse them).
  const allowed = new Set<string>();
  for (const e of trunkSet.values()) {
    if (e.module.kind === 'vector') allowed.add(e.name);
    else for (const p of PARAMS) allowed.add(e.name.slice(0, -'.weight'.length) + p);
  }
  const unexpected = [...trunk.values()].filter((t) => !allowed.has(t.name) && !isMtpTensor(t.name) && !isVisionTensor(t.name));
  if (unexpected.length) {
    problems.push(`${unexpected[0].shard}: ${unexpected.length} tensor(s) ${dims.arch} has no place for: ${listSome(unexpected.map((t) => t.name))}`);
  }
  return problems;
}

/**
 * The same judgement on an MLX trunk about to be reused as is (graft): its quantization block vs its
 * packed tensors, then its tensor set and shapes. The first problem is returned (undefined: none).
 */
export function trunkProblem(dims: ModelDims, config: Record<string, unknown>, trunk: ReadonlyMap<string, TensorInfo>): string | undefined {
  const q = checkQuantization({ config, trunk });
  return q.problems[0] ?? checkTensorSet({ dims, trunk, mtp: 'none', specs: q.specs })[0];
}
