/** The committed synthetic checkpoints, served by the loopback Hub: headers and MTP tensors by ranges only. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { resolveHubConfig } from '../../src/hub/hub-config';
import { executeFetch, planFetch } from '../../src/hub/fetch-plan';
import { HubRepo } from '../../src/hub/hub-repo';
import { openRemoteCheckpointHeaders } from '../../src/source/remote-checkpoint';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { SafetensorsFile } from '../../src/safetensors/reader';
import { HubTestServer } from '../support/hub-server/server';

const FIXTURES = path.join(__dirname, '..', '..', 'fixtures');
const variants = fs
  .readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory() && fs.existsSync(path.join(FIXTURES, d.name, 'config.json')))
  .map((d) => d.name);

let server: HubTestServer;
let cacheDir: string;
beforeAll(async () => {
  server = await HubTestServer.start();
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-hub-fixtures-'));
});
afterAll(async () => {
  await server.close();
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

const withMtp = new Set<string>();

test('fixtures exist', () => expect(variants.length).toBeGreaterThan(0));

test.each(variants)('%s: remote headers match the local reader; MTP tensors come by range', async (variant) => {
  const dir = path.join(FIXTURES, variant);
  await server.addRepoFromFolder(`fixtures/${variant}`, dir);
  server.resetStats();
  const config = resolveHubConfig({ endpoint: server.url, cacheDir, env: {}, retryBaseMs: 1 });
  const repo = await HubRepo.open(`fixtures/${variant}`, config);
  const remote = await openRemoteCheckpointHeaders(repo);
  const local = await Checkpoint.open(dir);
  try {
    const fmt = (m: Map<string, { name: string; dtype: string; shape: number[]; offset: number; byteLength: number; shard: string }>) =>
      [...m.values()].map((t) => `${t.name} ${t.dtype} ${t.shape} ${t.offset} ${t.byteLength} ${t.shard}`).sort();
    expect(fmt(remote.tensors)).toEqual(fmt(local.tensors));
    let headerBytes = 0;
    for (const s of local.shards) headerBytes += 8 + Number(fs.readFileSync(path.join(dir, s)).readBigUInt64LE(0));
    expect(server.bytesServed(/\.safetensors$/)).toBe(headerBytes);

    const mtp = [...remote.tensors.values()].filter((t) => t.name.startsWith('mtp.'));
    if (!mtp.length) return; // a variant without an MTP head (e.g. stripped)
    withMtp.add(variant);
    server.resetStats();
    const plan = planFetch(repo.files, { smallFiles: [], tensorRanges: mtp.map((t) => ({ shard: t.shard, start: t.offset, end: t.offset + t.byteLength })) }, { gapBytes: 0, wholeShardFraction: 1 });
    await executeFetch(repo, plan);
    expect(server.bytesServed()).toBe(mtp.reduce((n, t) => n + t.byteLength, 0));
    for (const t of mtp) {
      const f = await SafetensorsFile.open(path.join(dir, t.shard));
      expect((await repo.readRange(t.shard, t.offset, t.offset + t.byteLength)).equals(await f.readTensor(t.name))).toBe(true);
      await f.close();
    }
  } finally {
    await local.close();
  }
});

test('most fixtures have an MTP head to fetch', () => expect(withMtp.size).toBeGreaterThanOrEqual(variants.length - 1));
