/** Graft from a Hub source fetches about the MTP head's bytes (plus headers), never the trunk's shards. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startHarness, TOKEN, type Harness } from '../support/hub-server/harness';
import { convertOptions } from '../support/convert-options';
import { runConvert } from '../../src/convert/pipeline';
import { runGraft } from '../../src/convert/graft';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { validateArtifact } from '../../src/artifact/validate-artifact';

const FIX = path.join(__dirname, '..', '..', 'fixtures');
let h: Harness;
let tmp: string;
/** An MLX trunk without its head, converted from the same fixture. */
let trunk: string;
beforeAll(async () => {
  h = await startHarness();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-hub-graft-'));
  await h.server.addRepoFromFolder('qwen/dense', path.join(FIX, 'qwen35-dense'));
  trunk = path.join(tmp, 'trunk');
  await runConvert(convertOptions(path.join(FIX, 'qwen35-dense'), trunk, { mtp: 'drop' }));
});
afterAll(async () => {
  await h.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Grafts the head of the `qwen/dense` repo onto `trunkSpec` with body-int4, through a fresh cache. */
async function graftFromHub(trunkSpec: string, out: string): Promise<void> {
  const cfg = h.config(await h.newCacheDir());
  await runGraft({
    trunk: trunkSpec,
    mtpSource: 'qwen/dense',
    out,
    force: false,
    rounding: 'metal',
    policy: { spec: 'body-int4' },
    hub: { endpoint: h.server.url, cacheDir: cfg.cacheDir, env: { HF_TOKEN: TOKEN } },
  });
}

test('graft org/name: only the headers and the mtp.* tensor bytes are fetched', async () => {
  const local = await Checkpoint.open(path.join(FIX, 'qwen35-dense'));
  const mtpBytes = [...local.tensors.values()].filter((t) => t.name.startsWith('mtp.')).reduce((a, t) => a + t.byteLength, 0);
  const shardBytes = local.shards.reduce((a, s) => a + fs.statSync(path.join(FIX, 'qwen35-dense', s)).size, 0);
  const headerBytes = [...local.shards].reduce((a, s) => {
    const buf = fs.readFileSync(path.join(FIX, 'qwen35-dense', s));
    return a + 8 + Number(buf.readBigUInt64LE(0));
  }, 0);
  await local.close();

  h.server.resetStats();
  const out = path.join(tmp, 'grafted');
  await graftFromHub(trunk, out);
  const served = h.server.bytesServed(/\.safetensors$/);
  expect(served).toBeGreaterThanOrEqual(mtpBytes);
  // Headers + the head (gap filling may pull a few bytes between close ranges).
  expect(served).toBeLessThanOrEqual(headerBytes + mtpBytes * 1.1);
  expect(served).toBeLessThan(shardBytes / 2);
  expect((await validateArtifact(out)).problems).toEqual([]);
  const side = await Checkpoint.openFiles(out, ['mtp.safetensors']);
  expect(side.tensors.size).toBe(29);
  await side.close();
});

test('graft with both trunk and head on the Hub: the trunk arrives whole and unchanged', async () => {
  await h.server.addRepoFromFolder('me/trunk', trunk);
  const out = path.join(tmp, 'grafted-remote-trunk');
  await graftFromHub('me/trunk', out);
  expect(fs.readFileSync(path.join(out, 'model.safetensors')).equals(fs.readFileSync(path.join(trunk, 'model.safetensors')))).toBe(true);
  expect(fs.readFileSync(path.join(out, 'tokenizer.json')).equals(fs.readFileSync(path.join(trunk, 'tokenizer.json')))).toBe(true);
  expect((await validateArtifact(out)).problems).toEqual([]);
  const contract = JSON.parse(fs.readFileSync(path.join(out, 'mtplx_runtime.json'), 'utf8'));
  expect(contract.base_trunk).toMatch(/^me\/trunk@[0-9a-f]{40}$/);
});
