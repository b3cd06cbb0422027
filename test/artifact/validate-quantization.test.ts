import { checkQuantization } from '../../src/artifact/validate-quantization';
import { checkNormEncoding } from '../../src/artifact/validate-mtp';
import { tensorBytes, type DType, type TensorInfo } from '../../src/safetensors/types';

function map(entries: [string, DType, number[]][], shard = 'model.safetensors'): Map<string, TensorInfo> {
  return new Map(entries.map(([name, dtype, shape]) => [name, { name, dtype, shape, byteLength: tensorBytes(dtype, shape), offset: 0, shard }]));
}
const q = (g: number, b: number, extra: Record<string, unknown> = {}) => {
  const block = { group_size: g, bits: b, ...extra };
  return { quantization: block, quantization_config: JSON.parse(JSON.stringify(block)) };
};
const E = 'language_model.model.layers.0.mlp.switch_mlp.up_proj';

test('stacked experts [E, out, in]: leading dims and the packed/group arithmetic are checked', () => {
  // 8 experts, out 32, in 128 at 4 bits / g64: weight [8, 32, 16], scales [8, 32, 2].
  const ok = map([[`${E}.weight`, 'U32', [8, 32, 16]], [`${E}.scales`, 'BF16', [8, 32, 2]], [`${E}.biases`, 'BF16', [8, 32, 2]]]);
  expect(checkQuantization({ config: q(64, 4), trunk: ok }).problems).toEqual([]);
  const badLead = map([[`${E}.weight`, 'U32', [8, 32, 16]], [`${E}.scales`, 'BF16', [4, 32, 2]], [`${E}.biases`, 'BF16', [4, 32, 2]]]);
  expect(checkQuantization({ config: q(64, 4), trunk: badLead }).problems[0]).toContain('must agree on every dimension but the last');
  // Same tensors read as group 32: scales would need 4 groups.
  expect(checkQuantization({ config: q(32, 4), trunk: ok }).problems[0]).toContain('holds 128 inputs per row, but scales [8, 32, 2] at group size 32 cover 64');
});

test('fp modes: U8 scales and no biases', () => {
  const m = 'language_model.model.layers.0.mlp.up_proj';
  const fp = map([[`${m}.weight`, 'U32', [32, 16]], [`${m}.scales`, 'U8', [32, 4]]]);
  expect(checkQuantization({ config: q(32, 4, { mode: 'mxfp4' }), trunk: fp }).problems).toEqual([]);
  const withBiases = new Map(fp).set(`${m}.biases`, { name: `${m}.biases`, dtype: 'U8', shape: [32, 4], byteLength: 128, offset: 0, shard: 'model.safetensors' });
  expect(checkQuantization({ config: q(32, 4, { mode: 'mxfp4' }), trunk: withBiases }).problems.some((p) => p.includes('mxfp4 has no .biases'))).toBe(true);
});

test('per-module entries: mode defaults to affine, null sizes take mode defaults, false with scales is a problem', () => {
  const m = 'language_model.model.layers.0.mlp.gate';
  const t = map([[`${m}.weight`, 'U32', [16, 16]], [`${m}.scales`, 'BF16', [16, 1]], [`${m}.biases`, 'BF16', [16, 1]]]);
  // 8 bits x 16 words = 64 inputs = 1 group of 64.
  const entry = (v: unknown) => ({ ...q(64, 4, { mode: 'mxfp4', [m]: v }), quantization_config: { group_size: 64, bits: 4, mode: 'mxfp4', [m]: v } });
  expect(checkQuantization({ config: entry({ group_size: 64, bits: 8 }), trunk: t }).problems).toEqual([]);
  const nulls = checkQuantization({ config: entry({ group_size: null, bits: 8 }), trunk: t });
  expect(nulls.problems).toEqual([]); // affine default group size 64
  expect(nulls.info[0]).toContain('affine defaults apply');
  expect(checkQuantization({ config: entry(false), trunk: t }).problems[0]).toContain(`quantization['${m}'] is false`);
});

test('sidecar specs come from mtplx_mtp_quantization.modules, then its block', () => {
  const m = 'mtp.layers.0.mlp.down_proj';
  const side = { file: 'mtp.safetensors', tensors: map([[`${m}.weight`, 'U32', [64, 8]], [`${m}.scales`, 'BF16', [64, 2]], [`${m}.biases`, 'BF16', [64, 2]]], 'mtp.safetensors') };
  // [64, 8] U32 at 4 bits = 64 inputs; 2 groups -> group 32.
  const cfg = (mq: Record<string, unknown>) => ({ ...q(64, 4), mtplx_mtp_quantization: { prequantized: true, quantized_modules: [m], ...mq } });
  expect(checkQuantization({ config: cfg({ bits: 4, group_size: 32 }), trunk: new Map(), sidecar: side }).problems).toEqual([]);
  expect(checkQuantization({ config: cfg({ bits: 4, group_size: 64, modules: { [m]: { bits: 4, group_size: 32 } } }), trunk: new Map(), sidecar: side }).problems).toEqual([]);
  const wrong = checkQuantization({ config: cfg({ bits: 4, group_size: 64 }), trunk: new Map(), sidecar: side }).problems;
  expect(wrong).toEqual([`mtp.safetensors: '${m}': weight [64, 8] at 4 bits holds 64 inputs per row, but scales [64, 2] at group size 64 cover 128 (bits / group size from mtplx_mtp_quantization)`]);
  const undeclared = checkQuantization({ config: { ...q(64, 4), mtplx_mtp_quantization: { bits: 4, group_size: 32, quantized_modules: [] } }, trunk: new Map(), sidecar: side }).problems;
  expect(undeclared.some((p) => p.includes('prequantized: must be true'))).toBe(true);
  expect(undeclared.some((p) => p.includes(`omits ${m}`))).toBe(true);
});

test('norm heuristic follows MTPLX: both q/k < 1.25 and low-set < 0.5 are needed', () => {
  const names = ['mtp.layers.0.self_attn.q_norm.weight', 'mtp.layers.0.self_attn.k_norm.weight', 'mtp.pre_fc_norm_embedding.weight', 'mtp.layers.0.input_layernorm.weight'];
  const run = (vals: number[]) => checkNormEncoding(new Map(names.map((n, i) => [n, vals[i]])), {}, () => 'mtp.safetensors');
  expect(run([1.8, 1.8, 0.3, 0.9])).toEqual([]); // healthy: pre_fc gamma below 0.5 alone does not flag
  expect(run([1.1, 1.1, 0.6, 0.9])).toEqual([]); // q/k low but low-set fine
  const raw = run([0.8, 0.8, -0.7, -0.1]);
  expect(raw).toHaveLength(1);
  expect(raw[0]).toMatch(/^warning: mtp.safetensors: MTP head norms look raw.*q\/k-norm mean 0.800.*lowest norm mean -0.700/);
  expect(checkNormEncoding(new Map(), {}, () => '?')).toEqual([]);
});
