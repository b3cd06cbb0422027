/**
 * `runSmoke` on artifacts mtpkit converted from planted checkpoints (fixtures/generator/planted.ts),
 * on the native engine: a good artifact passes with high acceptance and greedy identity at depths 1-3
 * (dense and MoE), the contract records the result and stays valid, and each classic defect is caught
 * and named.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generatePlantedCheckpoint, type PlantedVariant } from '../../fixtures/generator/planted';
import { runConvert } from '../../src/convert/pipeline';
import { validateRuntimeContract, contractBlockers } from '../../src/artifact/contract';
import { checksumFiles } from '../../src/checksum/checksums';
import { SafetensorsFile } from '../../src/safetensors/reader';
import { writeSafetensorsFile } from '../../src/safetensors/writer';
import { decodeFloats, encodeFloats } from '../../src/quant/kernels/float-io';
import { runSmoke, type SmokeOptions } from '../../src/smoke/run-smoke';
import { writeSmokeContract } from '../../src/smoke/contract-update';
import { renderSmoke } from '../../src/smoke/render';
import { convertOptions } from '../support/convert-options';

const OPTS: SmokeOptions = { maxTokens: 16, threads: 1, depths: [1, 2, 3] };
let root: string;
const good: Partial<Record<PlantedVariant, string>> = {};

async function planted(variant: PlantedVariant, seed: number, policy: string, tag: string): Promise<string> {
  const src = path.join(root, `${tag}-src`);
  await generatePlantedCheckpoint(src, { variant, seed });
  const out = path.join(root, tag);
  await runConvert(convertOptions(src, out, { force: true, policy: { spec: policy } }));
  return out;
}

function copy(src: string, tag: string): string {
  const dest = path.join(root, tag);
  fs.cpSync(src, dest, { recursive: true });
  return dest;
}

/** Rewrites mtp.safetensors with `edit` applied to the float values of the tensors it selects. */
async function editSidecar(dir: string, select: (name: string) => boolean, edit: (v: Float32Array) => void): Promise<void> {
  const file = path.join(dir, 'mtp.safetensors');
  const f = await SafetensorsFile.open(file);
  const entries = [];
  for (const [name, info] of f.tensors) {
    let data = await f.readTensor(name);
    if (select(name)) {
      const v = decodeFloats(data, info.dtype as 'BF16');
      edit(v);
      data = encodeFloats(v, info.dtype as 'BF16');
    }
    entries.push({ spec: { name, dtype: info.dtype, shape: info.shape }, data });
  }
  await f.close();
  await writeSafetensorsFile(file, entries, { format: 'mlx' });
}

const isNorm = (n: string) => /norm\.weight$/.test(n);
const defects = (r: { audit: { findings: { defect: string }[] } }) => r.audit.findings.map((f) => f.defect);

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-smoke-'));
  good['qwen35-dense'] = await planted('qwen35-dense', 7, 'uniform', 'dense-good');
  good['qwen35-moe'] = await planted('qwen35-moe', 7, 'uniform', 'moe-good');
  good['qwen35-dense-tied'] = await planted('qwen35-dense-tied', 7, 'uniform', 'tied-good');
});

afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

describe('smoke on good planted artifacts', () => {
  // The tied variant is the construction the 4B-shaped benchmark artifact uses.
  for (const variant of ['qwen35-dense', 'qwen35-moe', 'qwen35-dense-tied'] as const) {
    it(`${variant}: passes, acceptance >= 0.9 at depth 1, identity at depths 1-3, contract recorded`, async () => {
      const dir = copy(good[variant]!, `${variant}-recorded`);
      const before = JSON.parse(fs.readFileSync(path.join(dir, 'mtplx_runtime.json'), 'utf8'));
      const r = await runSmoke(dir, OPTS);
      expect(r.reasons).toEqual([]);
      expect(r.status).toBe('passed');
      expect(r.exitCode).toBe(0);
      expect(r.depths.map((d) => d.identity)).toEqual([true, true, true]);
      expect(r.depths[0].acceptanceByPosition[0]).toBeGreaterThanOrEqual(0.9);
      for (const d of r.depths) {
        expect(d.histogram.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
        expect(d.meanAcceptedLength).toBeCloseTo(1 + d.acceptanceByPosition.reduce((a, b) => a + b, 0), 9);
      }
      expect(r.wiring!.best).toEqual({ base_hidden_variant: 'post_norm', concat_order: 'embedding_hidden' });
      expect(r.wiring!.warnings).toEqual([]);

      await writeSmokeContract(dir, r);
      const after = JSON.parse(fs.readFileSync(path.join(dir, 'mtplx_runtime.json'), 'utf8'));
      expect(validateRuntimeContract(after, 'mtplx_runtime.json')).toEqual([]);
      expect(after.exactness_baseline).toMatchObject({ status: 'passed', max_tokens: 16, matches: 3 * r.prompts.length, total: 3 * r.prompts.length });
      expect(after.speed_evidence.acceptance_by_depth).toHaveLength(3);
      expect(after.verified_on.engine).toMatch(/native CPU engine/);
      expect(after.verified_on.threads).toBe(1);
      expect(after.mtp_contract.calibration.agreement_by_wiring).toHaveLength(4);
      // Only the contract and the card's Verification section changed: every recorded checksum holds,
      // and every file but README.md is byte-identical to the conversion's output.
      const recorded = after.mtpkit_provenance.output_checksums as { file: string; sha256: string }[];
      const now = await checksumFiles(dir, recorded.map((c) => c.file));
      expect(now.map((c) => c.sha256)).toEqual(recorded.map((c) => c.sha256));
      const original = before.mtpkit_provenance.output_checksums as { file: string; sha256: string }[];
      expect(recorded.filter((c) => c.file !== 'README.md')).toEqual(original.filter((c) => c.file !== 'README.md'));
      const card = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
      expect(card).not.toMatch(/Not verified/);
      expect(card).toMatch(/\| 1 \| yes \| \d+\.\d %/);
      expect(contractBlockers(after).filter((b) => b.startsWith('exactness'))).toEqual([]);
    });
  }
});

for (const variant of ['qwen35-dense', 'qwen35-moe'] as const) describe(`${variant}: smoke catches and names the classic defects`, () => {
  it('MTP norms without their +1 (still zero-centred)', async () => {
    const dir = copy(good[variant]!, `${variant}-norm-missing`);
    await editSidecar(dir, isNorm, (v) => v.forEach((x, i) => (v[i] = x - 1)));
    const r = await runSmoke(dir, OPTS);
    expect(r.exitCode).toBe(1);
    expect(r.status).toBe('fail_head_audit');
    expect(defects(r)).toContain('norm_plus_one_missing');
  });

  it('MTP norms shifted twice', async () => {
    const dir = copy(good[variant]!, `${variant}-norm-twice`);
    await editSidecar(dir, isNorm, (v) => v.forEach((x, i) => (v[i] = x + 1)));
    const r = await runSmoke(dir, OPTS);
    expect(r.exitCode).toBe(1);
    expect(defects(r)).toEqual(['norm_plus_one_twice']);
  });

  it('MTP head quantized to 2 bits', async () => {
    const policy = path.join(root, `${variant}-mtp2.json`);
    fs.writeFileSync(policy, JSON.stringify({
      name: 'mtp-2bit',
      rules: [
        { match: { role: ['mtp', 'mtp.fc'] }, action: { quantize: { mode: 'affine', bits: 2, group_size: 64 } } },
        { match: {}, action: { keep: 'source' } },
      ],
    }));
    const dir = await planted(variant, 7, policy, `${variant}-mtp-2bit`);
    const r = await runSmoke(dir, OPTS);
    expect(r.exitCode).toBe(1);
    expect(defects(r)).toContain('mtp_low_bits');
    expect(r.reasons.join('\n')).toMatch(/quantized to 2 bits/);
  });

  it('[hidden, embedding] concat order: the calibration finds it and records it', async () => {
    const dir = copy(good[variant]!, `${variant}-concat`);
    const f = await SafetensorsFile.open(path.join(dir, 'mtp.safetensors'));
    const names = [...f.tensors.keys()].filter((n) => n.startsWith('mtp.fc.'));
    await f.close();
    // A converter that wrote fc's halves the other way round: the head now expects [hidden, embedding].
    const { swappedConcatOverlay } = await import('../../src/smoke/concat-overlay');
    const overlay = (await swappedConcatOverlay(dir))!;
    fs.copyFileSync(path.join(overlay, 'mtp.safetensors'), path.join(dir, 'mtp.safetensors.swapped'));
    fs.rmSync(overlay, { recursive: true });
    fs.renameSync(path.join(dir, 'mtp.safetensors.swapped'), path.join(dir, 'mtp.safetensors'));
    expect(names.length).toBeGreaterThan(0);
    const r = await runSmoke(dir, OPTS);
    const stated = r.wiring!.candidates.find((c) => c.concat_order === 'embedding_hidden' && c.base_hidden_variant === 'post_norm')!;
    expect(stated.acceptance).toBeLessThan(0.1);
    expect(r.wiring!.best.concat_order).toBe('hidden_embedding');
    expect(r.wiring!.warnings.join()).toMatch(/concat_order embedding_hidden\) is not the best: post_norm \/ hidden_embedding/);
    await writeSmokeContract(dir, r);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'mtplx_runtime.json'), 'utf8')).mtp_contract.concat_order).toBe('hidden_embedding');
  });

  it('the wrong hidden variant stated in the contract', async () => {
    const dir = copy(good[variant]!, `${variant}-hidden-variant`);
    const file = path.join(dir, 'mtplx_runtime.json');
    const c = JSON.parse(fs.readFileSync(file, 'utf8'));
    c.mtp_contract.base_hidden_variant = 'pre_norm';
    fs.writeFileSync(file, JSON.stringify(c, null, 2));
    const r = await runSmoke(dir, OPTS);
    const pre = r.wiring!.candidates.find((c) => c.base_hidden_variant === 'pre_norm' && c.concat_order === 'embedding_hidden')!;
    expect(r.wiring!.best.base_hidden_variant).toBe('post_norm');
    expect(r.wiring!.best).not.toEqual(r.wiring!.stated);
    expect(pre.acceptance).toBeLessThan(r.depths[0].draftAcceptance);
    expect(r.wiring!.warnings.join()).toMatch(/base_hidden_variant pre_norm/);
    // Not a failure (the best wiring is measured and recorded), but said everywhere the result goes.
    expect(r.status).toBe('passed');
    expect(renderSmoke(r).join('\n')).toMatch(/warning: +the stated wiring \(base_hidden_variant pre_norm/);
    await writeSmokeContract(dir, r);
    const after = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(validateRuntimeContract(after, 'mtplx_runtime.json')).toEqual([]);
    expect(after.mtp_contract.base_hidden_variant).toBe('post_norm');
    expect(after.mtp_contract.calibration.stated).toEqual({ base_hidden_variant: 'pre_norm', concat_order: 'embedding_hidden' });
    expect(after.mtp_contract.calibration.diagnostic).toMatch(/stated wiring .* is not the best/);
    const card = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
    expect(card).toMatch(/- Wiring: the stated wiring \(base_hidden_variant pre_norm/);
  });

  it('zeroed scales and non-finite values in the head', async () => {
    const zero = copy(good[variant]!, `${variant}-zero-scales`);
    await editSidecar(zero, (n) => n === 'mtp.fc.scales', (v) => v.fill(0));
    const z = await runSmoke(zero, OPTS);
    expect(z.exitCode).toBe(1);
    expect(z.audit.findings).toEqual([{ defect: 'payload_zero', message: expect.stringMatching(/mtp\.fc\.scales/) }]);
    const nan = copy(good[variant]!, `${variant}-nan-norm`);
    await editSidecar(nan, (n) => n === 'mtp.pre_fc_norm_hidden.weight', (v) => (v[3] = NaN));
    expect(defects(await runSmoke(nan, OPTS))).toContain('payload_non_finite');
  });

  it('a stripped head', async () => {
    const dir = copy(good[variant]!, `${variant}-stripped`);
    fs.rmSync(path.join(dir, 'mtp.safetensors'));
    const r = await runSmoke(dir, OPTS);
    expect(r.exitCode).toBe(1);
    expect(r.status).toBe('fail_head_audit');
    expect(defects(r)).toContain('mtp_missing');
  });

  it('a partial head', async () => {
    const dir = copy(good[variant]!, `${variant}-partial`);
    const file = path.join(dir, 'mtp.safetensors');
    const f = await SafetensorsFile.open(file);
    const entries = [];
    for (const [name, info] of f.tensors) if (name !== 'mtp.norm.weight') entries.push({ spec: { name, dtype: info.dtype, shape: info.shape }, data: await f.readTensor(name) });
    await f.close();
    await writeSafetensorsFile(file, entries, { format: 'mlx' });
    const r = await runSmoke(dir, OPTS);
    expect(r.exitCode).toBe(1);
    expect(defects(r)).toContain('mtp_partial');
    expect(r.reasons.join()).toMatch(/mtp\.norm\.weight/);
  });

  it('a head grafted from a different model', async () => {
    const other = await planted(variant, 99, 'uniform', `${variant}-other-model`);
    const dir = copy(good[variant]!, `${variant}-foreign-head`);
    fs.copyFileSync(path.join(other, 'mtp.safetensors'), path.join(dir, 'mtp.safetensors'));
    const r = await runSmoke(dir, OPTS);
    expect(r.exitCode).toBe(1);
    expect(r.status).toBe('fail_acceptance_collapsed');
    expect(r.depths.every((d) => d.identity)).toBe(true);
    expect(r.reasons.join()).toMatch(/does not belong to this trunk/);
    await writeSmokeContract(dir, r);
    const c = JSON.parse(fs.readFileSync(path.join(dir, 'mtplx_runtime.json'), 'utf8'));
    expect(c.exactness_baseline.status).toBe('fail_acceptance_collapsed');
    expect(c.speed_evidence.verdict).toBe('mtp_acceptance_collapsed');
    expect(validateRuntimeContract(c, 'mtplx_runtime.json')).toEqual([]);
  });
});
