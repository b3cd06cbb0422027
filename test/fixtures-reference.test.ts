/**
 * The generator's tensor layout, fed the published model sizes (qwen35-architecture.md §3), must
 * reproduce the published checkpoints' tensor counts and parameter counts (§4.11) and the concrete
 * shapes listed in §4.7. No data is generated: only the tensor lists are built.
 */
import { buildTensorList, type GeneratedTensor } from '../fixtures/generator/tensors';
import { getVariant, type ModelDims, type VariantName, type VisionDims } from '../fixtures/generator/variants';

const vision = (depth: number, hidden: number, intermediate: number, numHeads: number): VisionDims => ({
  depth, hidden, intermediate, numHeads, numPositions: 2304, patchSize: 16, temporalPatchSize: 2, inChannels: 3, spatialMergeSize: 2,
});

const common = { fullInterval: 4, convKernel: 4, linKeyDim: 128, linValueDim: 128, headDim: 256, partialRotaryFactor: 0.25, linKeyHeads: 16 };

function published(variant: VariantName, dims: Partial<ModelDims>): GeneratedTensor[] {
  const v = getVariant(variant);
  v.dims = { ...v.dims, ...common, ...dims };
  return buildTensorList(v);
}

const params = (ts: GeneratedTensor[]) => ts.reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
const shapeOf = (ts: GeneratedTensor[], name: string) => ts.find((t) => t.name === name)?.shape;

const q08 = () => published('qwen35-dense-tied', {
  hidden: 1024, layers: 24, intermediate: 3584, numHeads: 8, numKvHeads: 2, linValueHeads: 16, vocab: 248320, vision: vision(12, 768, 3072, 12),
});
const q27 = () => published('qwen35-dense', {
  hidden: 5120, layers: 64, intermediate: 17408, numHeads: 24, numKvHeads: 4, linValueHeads: 48, vocab: 248320, vision: vision(27, 1152, 4304, 16),
});
const moe35: Partial<ModelDims> = {
  hidden: 2048, layers: 40, numHeads: 16, numKvHeads: 2, linValueHeads: 32, vocab: 248320,
  experts: 256, topK: 8, moeIntermediate: 512, sharedIntermediate: 512, vision: vision(27, 1152, 4304, 16),
};

describe('published checkpoints rebuilt from their sizes', () => {
  test('Qwen3.5-0.8B: 488 tensors, 873,438,784 parameters, §4.7 shapes', () => {
    const ts = q08();
    expect(ts.length).toBe(488);
    expect(params(ts)).toBe(873438784);
    const p = 'model.language_model.layers.0.linear_attn.';
    expect(shapeOf(ts, `${p}in_proj_qkv.weight`)).toEqual([6144, 1024]);
    expect(shapeOf(ts, `${p}in_proj_z.weight`)).toEqual([2048, 1024]);
    expect(shapeOf(ts, `${p}in_proj_a.weight`)).toEqual([16, 1024]);
    expect(shapeOf(ts, `${p}conv1d.weight`)).toEqual([6144, 1, 4]);
    expect(shapeOf(ts, `${p}norm.weight`)).toEqual([128]);
    expect(shapeOf(ts, `${p}out_proj.weight`)).toEqual([1024, 2048]);
    const a = 'model.language_model.layers.3.self_attn.';
    expect(shapeOf(ts, `${a}q_proj.weight`)).toEqual([4096, 1024]);
    expect(shapeOf(ts, `${a}k_proj.weight`)).toEqual([512, 1024]);
    expect(shapeOf(ts, `${a}o_proj.weight`)).toEqual([1024, 2048]);
    expect(shapeOf(ts, 'lm_head.weight')).toBeUndefined();
  });

  test('Qwen3.5-4B: 738 tensors, 4,659,865,088 parameters', () => {
    const ts = published('qwen35-dense-tied', {
      hidden: 2560, layers: 32, intermediate: 9216, numHeads: 16, numKvHeads: 4, linValueHeads: 32, vocab: 248320, vision: vision(24, 1024, 4096, 16),
    });
    expect(ts.length).toBe(738);
    expect(params(ts)).toBe(4659865088);
    expect(shapeOf(ts, 'model.language_model.layers.0.linear_attn.in_proj_qkv.weight')).toEqual([8192, 2560]);
    expect(shapeOf(ts, 'model.language_model.layers.3.self_attn.q_proj.weight')).toEqual([8192, 2560]);
  });

  test('Qwen3.6-27B shape (qwen35-dense layout): 1199 tensors, 27,781,427,952 parameters, §4.7 shapes', () => {
    const ts = q27();
    expect(ts.length).toBe(1199);
    expect(params(ts)).toBe(27781427952);
    const p = 'model.language_model.layers.0.linear_attn.';
    expect(shapeOf(ts, `${p}in_proj_qkv.weight`)).toEqual([10240, 5120]);
    expect(shapeOf(ts, `${p}in_proj_z.weight`)).toEqual([6144, 5120]);
    expect(shapeOf(ts, `${p}in_proj_b.weight`)).toEqual([48, 5120]);
    expect(shapeOf(ts, `${p}A_log`)).toEqual([48]);
    expect(shapeOf(ts, `${p}out_proj.weight`)).toEqual([5120, 6144]);
    expect(shapeOf(ts, 'model.language_model.layers.3.self_attn.q_proj.weight')).toEqual([12288, 5120]);
    expect(shapeOf(ts, 'model.language_model.layers.3.self_attn.k_proj.weight')).toEqual([1024, 5120]);
    expect(shapeOf(ts, 'model.language_model.layers.3.mlp.down_proj.weight')).toEqual([5120, 17408]);
  });

  test('Qwen3.5-35B-A3B: 1811 tensors (785 MTP), 35,951,822,704 parameters, §4.7 shapes', () => {
    const ts = published('qwen35-moe', moe35);
    expect(ts.length).toBe(1811);
    expect(ts.filter((t) => t.name.startsWith('mtp.')).length).toBe(785);
    expect(params(ts)).toBe(35951822704);
    const p = 'model.language_model.layers.0.mlp.';
    expect(shapeOf(ts, `${p}gate.weight`)).toEqual([256, 2048]);
    expect(shapeOf(ts, `${p}experts.gate_up_proj`)).toEqual([256, 1024, 2048]);
    expect(shapeOf(ts, `${p}experts.down_proj`)).toEqual([256, 2048, 512]);
    expect(shapeOf(ts, `${p}shared_expert.down_proj.weight`)).toEqual([2048, 512]);
    expect(shapeOf(ts, `${p}shared_expert_gate.weight`)).toEqual([1, 2048]);
    expect(shapeOf(ts, 'mtp.layers.0.mlp.experts.255.gate_proj.weight')).toEqual([512, 2048]);
  });

  test('Qwen3.6-35B-A3B: 1045 tensors = 693 text + 19 MTP + 333 vision', () => {
    const ts = published('qwen36-moe', moe35);
    expect(ts.length).toBe(1045);
    expect(ts.filter((t) => t.name.startsWith('mtp.')).length).toBe(19);
    expect(ts.filter((t) => t.name.startsWith('model.visual.')).length).toBe(333);
  });

  test('Qwen3-Next-80B-A3B: 75,944 tensors (1553 MTP), 81,324,862,720 parameters, [12288, 2048] qkvz', () => {
    const ts = published('qwen3-next', {
      hidden: 2048, layers: 48, numHeads: 16, numKvHeads: 2, linValueHeads: 32, vocab: 151936,
      experts: 512, topK: 10, moeIntermediate: 512, sharedIntermediate: 512, vision: null,
    });
    expect(ts.length).toBe(75944);
    expect(ts.filter((t) => t.name.startsWith('mtp.')).length).toBe(1553);
    expect(params(ts)).toBe(81324862720);
    expect(shapeOf(ts, 'model.layers.0.linear_attn.in_proj_qkvz.weight')).toEqual([12288, 2048]);
    expect(shapeOf(ts, 'model.layers.0.linear_attn.in_proj_ba.weight')).toEqual([64, 2048]);
  });
});
