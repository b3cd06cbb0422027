import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createHash } from 'crypto';
import {
  buildRuntimeContract,
  contractBlockers,
  defaultMtpDepthMax,
  formatRuntimeContract,
  PENDING_SMOKE_TEST,
  RUNTIME_CONTRACT_FILE,
  validateRuntimeContract,
  type ContractInput,
} from '../../src/artifact/contract';
import { checksumFiles, sha256File } from '../../src/checksum/checksums';
import { buildMtpConfigKeys, mtpQuantFromPlan } from '../../src/artifact/contract-mtp-config';
import type { PlannedTensor, QuantDecision } from '../../src/plan/types';

const BODY_7 = ['mlp.down_proj', 'mlp.gate_proj', 'mlp.up_proj', 'self_attn.k_proj', 'self_attn.o_proj', 'self_attn.q_proj', 'self_attn.v_proj'].map((m) => `mtp.layers.0.${m}`);

function input(over: Partial<ContractInput> = {}): ContractInput {
  return {
    architecture: 'qwen3_5',
    hiddenSize: 5120,
    mtpLayers: 1,
    layout: 'sidecar',
    mtpTensorCount: 29,
    mtpFloatDtype: 'bf16',
    mtpQuant: {
      policy: 'cyankiwi', bits: 4, groupSize: 64, mode: 'affine', modules: [...BODY_7].sort(),
      moduleSpecs: Object.fromEntries(BODY_7.map((m) => [m, { bits: 4, group_size: 64, mode: 'affine' as const }])),
    },
    policy: { name: 'gdn8-speed4', rules: ['role gdn -> affine 8/64'] },
    source: { repo: 'Qwen/Qwen3.6-27B', revision: 'b'.repeat(40) },
    toolVersion: '0.1.0',
    inputChecksums: [{ file: 'model-00001-of-00015.safetensors', size: 10, lfs_oid: 'c'.repeat(64) }],
    outputChecksums: [{ file: 'model.safetensors', size: 3, sha256: 'd'.repeat(64) }],
    createdAt: '2026-01-02T03:04:05.000Z',
    host: { platform: 'linux', arch: 'x64' },
    ...over,
  };
}

describe('buildRuntimeContract', () => {
  test('writes every key MTPLX requires and passes its own schema', () => {
    const c = buildRuntimeContract(input());
    for (const k of ['mtplx_version', 'arch_id', 'mtp_depth_max', 'recommended_profile', 'exactness_baseline', 'verified_on']) expect(c).toHaveProperty(k);
    expect(c.arch_id).toBe('qwen3-next-mtp');
    expect(c.recommended_profile).toBe('sustained');
    expect(c.mtp_file).toBe('mtp.safetensors');
    expect(c.mtp_sidecar).toBe('prequantized-mlx-affine');
    expect(c.mtp_contract).toMatchObject({
      base_hidden_variant: 'post_norm', hidden_variant: 'post_norm', concat_order: 'embedding_hidden', mtp_position_mode: 'cache',
      mtp_quant_bits: 4, mtp_quant_group_size: 64, mtp_quant_mode: 'affine', mtp_quant_policy: 'cyankiwi', mtp_prequantized: true,
    });
    expect(c.mtp_contract!.mtp_prequantized_modules).toHaveLength(7);
    expect(c.mtpkit_provenance).toMatchObject({
      tool: { name: 'mtpkit', version: '0.1.0' },
      source: { repo: 'Qwen/Qwen3.6-27B', revision: 'b'.repeat(40) },
      policy: { name: 'gdn8-speed4', rules: ['role gdn -> affine 8/64'] },
      mtp: { layout: 'sidecar', layers: 1, tensors: 29, file: 'mtp.safetensors', format: 'prequantized-mlx-affine' },
      created_at: '2026-01-02T03:04:05.000Z',
    });
    const reparsed = JSON.parse(formatRuntimeContract(c));
    expect(validateRuntimeContract(reparsed, RUNTIME_CONTRACT_FILE)).toEqual([]);
  });

  test('is honest: pending exactness baseline, verified_on claims no hardware, MTPLX sees a blocker', () => {
    const c = buildRuntimeContract(input());
    expect(c.exactness_baseline.status).toBe(PENDING_SMOKE_TEST);
    expect(String(c.exactness_baseline.note)).toMatch(/no exactness gate has run/i);
    expect(c.verified_on).toMatchObject({ host_platform: 'linux', host_arch: 'x64', timestamp: '2026-01-02T03:04:05.000Z' });
    expect(c.verified_on).not.toHaveProperty('hardware');
    expect(c.verified_on).not.toHaveProperty('machine_arch');
    expect(JSON.stringify(c.verified_on)).not.toMatch(/apple|m\d (max|pro)/i);
    expect(contractBlockers(c)).toEqual([`exactness_baseline.status is '${PENDING_SMOKE_TEST}' (MTPLX reads it as unverified)`]);
    const passed = buildRuntimeContract(input({ exactnessBaseline: { gate: 'mtp1-greedy-ar-equivalence', status: 'passed' } }));
    expect(contractBlockers(passed)).toEqual([]);
  });

  test('depth rule: 3 for hidden >= 4096, 2 below; override within 1..3', () => {
    expect([1024, 2048, 2560, 4095, 4096, 5120].map(defaultMtpDepthMax)).toEqual([2, 2, 2, 2, 3, 3]);
    expect(buildRuntimeContract(input({ hiddenSize: 2560 })).mtp_depth_max).toBe(2);
    expect(buildRuntimeContract(input({ mtpDepthMax: 1 })).mtp_depth_max).toBe(1);
    expect(() => buildRuntimeContract(input({ mtpDepthMax: 4 }))).toThrow(/from 1 to 3/);
  });

  test('profiles: aliases accepted, unknown names rejected; no MTP head rejected', () => {
    expect(buildRuntimeContract(input({ recommendedProfile: 'native-mtp-60' })).recommended_profile).toBe('native-mtp-60');
    expect(() => buildRuntimeContract(input({ recommendedProfile: 'warp' }))).toThrow(/unknown MTPLX profile 'warp'/);
    expect(() => buildRuntimeContract(input({ mtpLayers: 0 }))).toThrow(/mtp_num_hidden_layers is 0/);
  });

  test('float head, inline layout: no mtp_file, no quant bits, format = dtype', () => {
    const c = buildRuntimeContract(input({ layout: 'inline', mtpQuant: undefined, mtpTensorCount: 15 }));
    expect(c.mtp_file).toBeUndefined();
    expect(c.mtp_sidecar).toBe('bf16');
    expect(c.mtp_contract).toMatchObject({ mtp_quant_bits: null, mtp_prequantized: false, mtp_quant_policy: null });
    expect(c.mtp_contract!.mtp_prequantized_modules).toBeUndefined();
  });

  test('bad checksums supplied by the caller are rejected with the field named', () => {
    expect(() => buildRuntimeContract(input({ outputChecksums: [{ file: 'x', size: 1, sha256: 'nothex' }] }))).toThrow(/\/mtpkit_provenance\/output_checksums\/0\/sha256/);
  });
});

describe('validateRuntimeContract', () => {
  test("accepts the reference's composite example (§1.3)", () => {
    const example = {
      mtplx_version: '0.1.0-preview', arch_id: 'qwen3-next-mtp', mtp_depth_max: 2, recommended_profile: 'performance-cold',
      exactness_baseline: {},
      verified_on: { timestamp: '2026-05-20T12:00:00Z', hardware: 'Apple M5 Max, 128 GB unified memory', machine_arch: 'arm64', macos: '26.3.1', model: 'Qwen3.5-4B-MTPLX-Optimized-Speed' },
      sampler: { temperature: 0.6, top_p: 0.95, top_k: 20 },
      recommended_draft_lm_head: { bits: 4, group_size: 64, mode: 'affine' },
      recommended_draft_sampler: { temperature: 0.6, top_p: 0.95, top_k: 20 },
      mtp_sidecar: 'official Qwen/Qwen3.5-4B MTP tensors; quantization recorded in config.json',
      base_trunk: 'mlx-community/Qwen3.5-4B-MLX-4bit',
      artifact_role: 'small-q4-speed-test',
      speed_evidence: { mtp_depth: 2, acceptance_by_depth: [0.0, 0.0], ar_tok_s: 0.0, mtp_tok_s: 0.0, speedup_vs_ar: 0.0 },
      raw_extra_key: { kept: true },
    };
    expect(validateRuntimeContract(example, 'x.json')).toEqual([]);
  });

  test('names the field in every message', () => {
    const bad = { mtplx_version: 1, arch_id: 'qwen3-next-mtp', mtp_depth_max: 0, recommended_profile: 'fast', exactness_baseline: [], mtp_contract: { concat_order: 'sideways' } };
    const p = validateRuntimeContract(bad, RUNTIME_CONTRACT_FILE);
    expect(p).toEqual(expect.arrayContaining([
      'mtplx_runtime.json: /verified_on: missing required key',
      'mtplx_runtime.json: /mtp_depth_max: must be > 0 (got 0)',
      'mtplx_runtime.json: /mtplx_version: must be string (got 1)',
      'mtplx_runtime.json: /exactness_baseline: must be object (got [])',
    ]));
    expect(p.some((x) => x.startsWith('mtplx_runtime.json: /recommended_profile: must be one of') && x.endsWith('(got "fast")'))).toBe(true);
    expect(p.some((x) => x.startsWith('mtplx_runtime.json: /mtp_contract/concat_order: must be one of'))).toBe(true);
    expect(p).toHaveLength(6);
    expect(validateRuntimeContract('nope', 'c.json')).toEqual(['c.json: /: must be object (got "nope")']);
  });
});

describe('contractBlockers', () => {
  test('MTPLX status prefixes, release blocker and losing speed verdicts', () => {
    for (const s of ['candidate_x', 'fail_gate', 'pending_smoke_test', 'blocked_x', 'blocker_y', 'needs_rerun', 'unverified_z']) {
      expect(contractBlockers({ exactness_baseline: { status: s } })).toHaveLength(1);
    }
    expect(contractBlockers({ exactness_baseline: { status: 'passed' }, speed_evidence: { status: 'pending_bench' } })).toEqual([
      "speed_evidence.status is 'pending_bench' (MTPLX reads it as unverified)",
    ]);
    expect(contractBlockers({ public_release_blocker: true })).toEqual(['public_release_blocker is true']);
    expect(contractBlockers({ speed_evidence: { verdict: 'no_mtp_depth_beat_ar' } })).toHaveLength(1);
    expect(contractBlockers({ speed_evidence: { verdict: 'mtp_depth_wins' }, public_release_blocker: false })).toEqual([]);
    expect(contractBlockers(null)).toEqual([]);
  });
});

describe('MTP config keys and plan summary', () => {
  const t = (name: string, quant: QuantDecision, group: 'mtp' | 'trunk' = 'mtp'): PlannedTensor => ({
    name, sources: [], transforms: [], dtype: 'BF16', shape: [64, 64], group, notes: [], quant,
    facts: { module: name.replace(/\.weight$/, ''), param: 'weight', role: 'mtp', mtp: group === 'mtp' },
  });
  const q4: QuantDecision = { action: 'quantize', mode: 'affine', bits: 4, groupSize: 64 };

  test('mtpQuantFromPlan: sidecar names, majority spec as the block, per-module specs, MTPLX policy name', () => {
    const tensors = [
      ...BODY_7.map((m) => t(`language_model.${m}.weight`, m.endsWith('down_proj') ? { ...q4, bits: 8 } as QuantDecision : q4)),
      t('language_model.mtp.fc.weight', { action: 'keep', dtype: 'bf16' }),
      t('language_model.model.layers.0.mlp.up_proj.weight', q4, 'trunk'),
    ];
    const s = mtpQuantFromPlan(tensors, { mtpNumHiddenLayers: 1 })!;
    expect(s.modules).toEqual([...BODY_7].sort());
    expect(s).toMatchObject({ bits: 4, groupSize: 64, mode: 'affine', policy: 'cyankiwi' });
    expect(s.moduleSpecs['mtp.layers.0.mlp.down_proj']).toEqual({ bits: 8, group_size: 64, mode: 'affine' });
    expect(mtpQuantFromPlan([t('mtp.fc.weight', { action: 'keep', dtype: 'source' })], { mtpNumHiddenLayers: 1 })).toBeUndefined();
  });

  test('buildMtpConfigKeys: sidecar vs inline, quantized vs float', () => {
    const s = mtpQuantFromPlan(BODY_7.map((m) => t(`${m}.weight`, q4)), { mtpNumHiddenLayers: 1 })!;
    const side = buildMtpConfigKeys({ layout: 'sidecar', tensorCount: 29, quant: s });
    expect(side.mlx_lm_extra_tensors).toEqual({ mtp_file: 'mtp.safetensors', mtp_tensor_count: 29 });
    expect(side.mtplx_mtp_quantization).toMatchObject({ policy: 'cyankiwi', bits: 4, group_size: 64, mode: 'affine', prequantized: true, norm_encoding: 'mlx_gamma' });
    expect((side.mtplx_mtp_quantization as { quantized_modules: string[] }).quantized_modules).toEqual([...BODY_7].sort());
    const inline = buildMtpConfigKeys({ layout: 'inline', tensorCount: 15 });
    expect(inline).toEqual({ mtplx_mtp_norm_encoding: 'mlx_gamma' });
  });
});

test('checksums: sha256 and size equal a direct hash; order kept', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-sum-'));
  try {
    const a = Buffer.from('hello');
    const b = Buffer.alloc(5 << 20, 7); // spans several read chunks
    fs.writeFileSync(path.join(dir, 'a.bin'), a);
    fs.writeFileSync(path.join(dir, 'b.bin'), b);
    const sums = await checksumFiles(dir, ['b.bin', 'a.bin']);
    expect(sums).toEqual([
      { file: 'b.bin', size: b.length, sha256: createHash('sha256').update(b).digest('hex') },
      { file: 'a.bin', size: 5, sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824' },
    ]);
    await expect(sha256File(path.join(dir, 'missing'))).rejects.toThrow(/missing/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
