import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { sha256FileOffThread } from '../../src/checksum/hash-worker';
import { LocalSource } from '../../src/source/local-source';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-hash-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('the worker hashes files like crypto does, several at once, any size', async () => {
  const files = [0, 1, (8 << 20) + 3, 123457].map((n, i) => {
    const f = path.join(tmp, `f${i}`);
    const data = Buffer.alloc(n);
    for (let j = 0; j < n; j++) data[j] = (j * 31 + i) & 0xff;
    fs.writeFileSync(f, data);
    return { f, n, sha: createHash('sha256').update(data).digest('hex') };
  });
  const got = await Promise.all(files.map((x) => sha256FileOffThread(x.f)));
  expect(got).toEqual(files.map((x) => ({ size: x.n, sha256: x.sha })));
});

test('a missing file is an error naming it', async () => {
  await expect(sha256FileOffThread(path.join(tmp, 'nope'))).rejects.toThrow(/nope.*cannot hash/);
});

test('shards linked from an HF cache blob take their checksum from the blob name (nothing read)', async () => {
  const fixture = path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense-tied');
  const cache = path.join(tmp, 'models--org--m');
  const snap = path.join(cache, 'snapshots', 'abc');
  fs.mkdirSync(path.join(cache, 'blobs'), { recursive: true });
  fs.mkdirSync(snap, { recursive: true });
  for (const f of fs.readdirSync(fixture)) {
    if (!f.endsWith('.safetensors')) {
      fs.copyFileSync(path.join(fixture, f), path.join(snap, f));
      continue;
    }
    // A made-up blob name: if the file were read and hashed, the digest would differ from it.
    const blob = 'ab'.repeat(32);
    fs.copyFileSync(path.join(fixture, f), path.join(cache, 'blobs', blob));
    fs.symlinkSync(path.join('..', '..', 'blobs', blob), path.join(snap, f));
  }
  const src = await LocalSource.open(snap);
  const d = await src.inputDigests();
  await src.close();
  expect(d.map((x) => x.sha256)).toEqual(d.map(() => 'ab'.repeat(32)));
  expect(d[0].size).toBe(fs.statSync(path.join(snap, d[0].path)).size);
});
