/** The loopback Hub answers @huggingface/hub's own calls as the real Hub does (reference hub.md §8). */
import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { downloadFile, fileDownloadInfo, fileExists, listFiles, modelInfo, pathsInfo } from '@huggingface/hub';
import { SHARD1 } from '../support/hub-server/fixtures';
import { Harness, REPO, startHarness, TOKEN } from '../support/hub-server/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ token: TOKEN, treePageSize: 2 });
});
afterAll(async () => h.close());

test('listing (paginated), paths-info, revision info, file info and range reads', async () => {
  const p = { hubUrl: h.server.url, accessToken: TOKEN };
  const info = await modelInfo({ ...p, name: REPO, revision: 'main', additionalFields: ['sha'] });
  expect(info.sha).toBe(h.commit);

  const entries = [];
  for await (const e of listFiles({ ...p, repo: REPO, recursive: true, revision: h.commit })) entries.push(e);
  expect(h.server.requests.filter((r) => r.path.includes('/tree/')).length).toBeGreaterThan(2); // followed Link rel=next
  const files = entries.filter((e) => e.type === 'file');
  expect(files.map((f) => f.path).sort()).toEqual(['config.json', 'extra/notes.txt', SHARD1, 'model-00002-of-00002.safetensors', 'model.safetensors.index.json']);
  expect(entries.some((e) => e.type === 'directory' && e.path === 'extra')).toBe(true);

  const shard = await fsp.readFile(path.join(h.dir, SHARD1));
  const sha256 = createHash('sha256').update(shard).digest('hex');
  const [pi] = await pathsInfo({ ...p, repo: REPO, paths: [SHARD1], expand: true, revision: 'main' });
  expect(pi.lfs).toEqual({ oid: sha256, size: shard.length, pointerSize: expect.any(Number) });
  expect(pi.lastCommit?.id).toBe(h.commit);

  const dl = await fileDownloadInfo({ ...p, repo: REPO, path: SHARD1, revision: 'main' });
  expect(dl).toMatchObject({ size: shard.length, etag: `"${sha256}"` });
  expect(dl!.url).toContain('/cdn/'); // the same-origin redirect target is kept
  const blob = await downloadFile({ ...p, repo: REPO, path: SHARD1, revision: 'main' });
  expect(Buffer.from(await blob!.slice(100, 300).arrayBuffer()).equals(shard.subarray(100, 300))).toBe(true);
  expect(h.server.requests.some((r) => r.range === 'bytes=100-299' && r.status === 206)).toBe(true);

  expect(await fileDownloadInfo({ ...p, repo: REPO, path: 'absent.txt', revision: 'main' })).toBeNull();
  expect(await fileExists({ ...p, repo: REPO, path: 'config.json', revision: 'main' })).toBe(true);
  expect(await fileExists({ ...p, repo: REPO, path: 'absent.txt', revision: 'main' })).toBe(false);
});

test('auth is required when configured; bad ranges get 416; CDN links need their signature', async () => {
  const base = `${h.server.url}/${REPO}/resolve/main/config.json`;
  expect((await fetch(base)).status).toBe(401);
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const ok = await fetch(base, { headers: { ...auth, Range: 'bytes=2-5' } });
  expect(ok.status).toBe(206);
  expect(ok.headers.get('content-range')).toMatch(/^bytes 2-5\/\d+$/);
  expect(ok.headers.get('x-repo-commit')).toBe(h.commit);
  expect(await ok.text()).toBe((await fsp.readFile(path.join(h.dir, 'config.json'), 'utf8')).slice(2, 6));
  expect((await fetch(base, { headers: { ...auth, Range: 'bytes=99999-' } })).status).toBe(416);
  const redirect = await fetch(`${h.server.url}/${REPO}/resolve/main/${SHARD1}`, { headers: auth, redirect: 'manual' });
  expect(redirect.status).toBe(302);
  const cdn = new URL(redirect.headers.get('location')!);
  cdn.searchParams.delete('sig');
  expect((await fetch(cdn)).status).toBe(403);
  const missing = await fetch(`${h.server.url}/${REPO}/resolve/main/none.txt`, { headers: auth });
  expect([missing.status, missing.headers.get('x-error-code')]).toEqual([404, 'EntryNotFound']);
});
