/** Issue 10, case 1: every setting that changes the shards' bytes changes the resume fingerprint, and the note names it. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openSource } from '../../src/source/open-source';
import { buildConversionPlan, type PlanOptions } from '../../src/convert/conversion-plan';
import { layoutArtifact } from '../../src/convert/artifact-layout';
import { runIdentity, type RunIdentity } from '../../src/convert/run-identity';
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
  rounding?: string;
}

async function identity(v: Variant): Promise<RunIdentity> {
  const config = await src.readJson<Record<string, unknown>>('config.json');
  const plan = buildConversionPlan(src.label, config, src.tensors, { vision: 'drop', mtp: 'keep', policy: { spec: 'none' }, ...v.plan } as PlanOptions);
  const layout = layoutArtifact(plan.tensors, v.mtpLayout ?? 'sidecar', v.maxShardBytes ?? 100_000);
  return runIdentity(src, plan, layout, { rounding: v.rounding ?? 'metal', maxShardBytes: v.maxShardBytes ?? 100_000 });
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
