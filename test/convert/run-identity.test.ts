/** Issue 10, case 1: every setting that changes the shards' bytes changes the resume fingerprint, and the note names it. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openSource } from '../../src/source/open-source';
import { buildConversionPlan, type PlanOptions } from '../../src/convert/conversion-plan';
import { layoutArtifact } from '../../src/convert/artifact-layout';
import { conversionIdentity, resumeIdentity, type ResumeIdentity } from '../../src/convert/conversion-identity';
import { startPartialDir } from '../../src/convert/resume';
import type { CheckpointSource } from '../../src/source/checkpoint-source';

const FIXTURE = path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense-tied');
let src: CheckpointSource;
beforeAll(async () => {
  src = await openSource(FIXTURE);
});
afterAll(async () => src.close());

interface Variant {
  plan?: Partial<PlanOptions>;
  mtpLayout?: 'sidecar' | 'inline';
  maxShardBytes?: number;
  rounding?: 'metal' | 'cpu';
  vision?: 'drop' | 'keep';
}

async function identity(v: Variant, from: CheckpointSource = src): Promise<ResumeIdentity & { fingerprint: string }> {
  const config = await from.readJson<Record<string, unknown>>('config.json');
  const plan = buildConversionPlan(from.label, config, from.tensors, { vision: v.vision ?? 'drop', mtp: 'keep', policy: { spec: 'none' }, ...v.plan } as PlanOptions);
  const layout = layoutArtifact(plan.tensors, v.mtpLayout ?? 'sidecar', v.maxShardBytes ?? 100_000);
  const id = conversionIdentity(from, plan, layout, { rounding: v.rounding ?? 'metal', keepVision: v.vision === 'keep', maxShardBytes: v.maxShardBytes ?? 100_000 });
  return { ...(await resumeIdentity(from, id)), fingerprint: id.fingerprint };
}

test('policy, bits, dtype, MTP layout, shard size and rounding each give another fingerprint; the same options the same one', async () => {
  const base = await identity({});
  expect((await identity({})).planHash).toBe(base.planHash);
  const variants: [string, Variant, string][] = [
    ['policy', { plan: { policy: { spec: 'uniform', bits: 4 } } }, 'policy none -> uniform'],
    ['bits', { plan: { policy: { spec: 'uniform', bits: 8 } } }, 'quantization rules'],
    ['dtype', { plan: { dtype: 'float16' } }, 'float dtypes BF16/F32 -> F16/F32'],
    ['mtp layout', { mtpLayout: 'inline' }, 'mtp layout sidecar -> inline'],
    ['shard size', { maxShardBytes: 200_000 }, 'max shard bytes 100000 -> 200000'],
    ['rounding', { rounding: 'cpu' }, 'rounding metal -> cpu'],
  ];
  const seen = new Set([base.planHash]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-ident-'));
  try {
    for (const [what, v, said] of variants) {
      const id = await identity(v);
      expect([what, seen.has(id.planHash)]).toEqual([what, false]);
      seen.add(id.planHash);
      // A partial folder left by the base run, resumed with this variant: started clean, and why.
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, '.mtpkit-resume.json'), JSON.stringify({ version: 2, planHash: base.planHash, settings: base.settings, shards: { 'model.safetensors': { size: 1, sha256: 'x' } } }));
      fs.writeFileSync(path.join(dir, 'model.safetensors'), 'x');
      const start = await startPartialDir(dir, id.planHash, id.settings, true);
      expect(start.kept.size).toBe(0);
      expect(start.note).toContain(said);
      expect(fs.readdirSync(dir)).toEqual([]);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('local source: the fingerprint is the same for a copy elsewhere (another machine); resume also notices an in-place edit', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-ident-src-'));
  const copies = ['a', 'b'].map((n) => path.join(root, n));
  for (const c of copies) fs.cpSync(FIXTURE, c, { recursive: true });
  const [a, b] = await Promise.all(copies.map((c) => openSource(c)));
  try {
    const [ia, ib] = [await identity({}, a), await identity({}, b)];
    // Parts converted from two copies belong to one conversion; the original fixture too.
    expect(ib.fingerprint).toBe(ia.fingerprint);
    expect((await identity({})).fingerprint).toBe(ia.fingerprint);
    // Resume is machine-local: another folder's files are another source.
    expect(ib.planHash).not.toBe(ia.planHash);

    // Same tensor table, other weights: one byte flipped in the data region, and a newer mtime.
    const shard = path.join(copies[0], 'model.safetensors-00001-of-00001.safetensors');
    const buf = fs.readFileSync(shard);
    buf[buf.length - 1] ^= 0xff;
    fs.writeFileSync(shard, buf);
    const later = new Date(fs.statSync(shard).mtimeMs + 10_000);
    fs.utimesSync(shard, later, later);
    const edited = await identity({}, a);
    expect(edited.fingerprint).toBe(ia.fingerprint);
    expect(edited.planHash).not.toBe(ia.planHash);
    const dir = path.join(root, 'partial');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '.mtpkit-resume.json'), JSON.stringify({ version: 2, planHash: ia.planHash, settings: ia.settings, shards: {} }));
    const start = await startPartialDir(dir, edited.planHash, edited.settings, true);
    expect(start.note).toContain(`source files ${ia.settings['source files']} -> ${edited.settings['source files']}`);
  } finally {
    await Promise.all([a.close(), b.close()]);
    fs.rmSync(root, { recursive: true, force: true });
  }
});
