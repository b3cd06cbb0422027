/** loadModel('org/name[@rev]') resolves the artifact through our Hub cache (loopback server), then offline. */
import * as fs from 'fs';
import * as path from 'path';
import { loadModel } from '../../src/runtime/engine/load-model';
import { HubTestServer } from '../support/hub-server/server';
import { convertFixture, sameBits, tempDir } from './engine-artifacts';

const tmp = tempDir('hub');
let server: HubTestServer;

beforeAll(async () => {
  server = await HubTestServer.start();
});
afterAll(async () => {
  await server.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('a Hub artifact runs exactly as the local folder, and again offline from the cache', async () => {
  const local = await convertFixture(tmp, 'qwen35-moe', { policy: { spec: 'gdn8-speed4' } } as never);
  await server.addRepoFromFolder('org/moe-mlx', local);
  const cacheDir = path.join(tmp, 'cache');
  const hub = { endpoint: server.url, cacheDir, env: {}, retryBaseMs: 1 };
  const tokens = [4, 8, 15, 16, 23, 42];
  const run = async (spec: string, opts = {}) => {
    const m = await loadModel(spec, { threads: 1, ...opts });
    const r = await m.newSession().forward(tokens);
    const info = m.info;
    m.close();
    return { r, info };
  };
  const want = await run(local);
  const got = await run('org/moe-mlx', { hub });
  expect(got.info).toEqual(want.info);
  expect(got.info.hasMtp).toBe(true);
  expect(sameBits(got.r.logits, want.r.logits)).toBe(true);
  const offline = await run('org/moe-mlx@main', { hub: { ...hub, offline: true } });
  expect(sameBits(offline.r.logits, want.r.logits)).toBe(true);
});
