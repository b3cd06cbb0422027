/** The native streaming sha256 against node's crypto and against a separate `sha256sum` process. */
import { execFileSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { nativeAddon } from '../../src/native/addon';
import { FILE_PIECE_BYTES, Sha256Stream, sha256FileNative } from '../../src/native/sha256-stream';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-sha-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function hasSha256sum(): boolean {
  try {
    execFileSync('sha256sum', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('updates fired without awaiting are hashed in call order, whatever the chunk sizes', async () => {
  const data = randomBytes(3 * (1 << 20) + 12345);
  const cuts = [0, 0, 1, 64, 65, 1000, 1 << 20, (1 << 20) + 7, 2 * (1 << 20), data.length];
  const s = new Sha256Stream();
  const pending = [];
  for (let i = 1; i < cuts.length; i++) pending.push(s.update(data.subarray(cuts[i - 1], cuts[i])));
  await Promise.all(pending);
  expect(s.size).toBe(data.length);
  expect(await s.digest()).toBe(sha(data));
});

test('the empty stream and "abc" give the FIPS 180-2 digests', async () => {
  expect(await new Sha256Stream().digest()).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  const s = new Sha256Stream();
  await s.update(Buffer.from('abc'));
  expect(await s.digest()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('whole files hash like crypto and like a separate sha256sum, across piece boundaries', async () => {
  const sizes = [0, 1, 1 << 20, FILE_PIECE_BYTES, FILE_PIECE_BYTES + 3, 2 * FILE_PIECE_BYTES + (1 << 20) - 1];
  const tool = hasSha256sum();
  for (const n of sizes) {
    const f = path.join(tmp, `f${n}`);
    const data = randomBytes(n);
    fs.writeFileSync(f, data);
    const got = await sha256FileNative(f);
    expect(got).toEqual({ size: n, sha256: sha(data) });
    if (tool) expect(execFileSync('sha256sum', [f], { encoding: 'utf8' }).split(/\s+/)[0]).toBe(got.sha256);
  }
});

test('a file range read and hashed natively equals crypto over the same bytes', async () => {
  const data = randomBytes(FILE_PIECE_BYTES + 5000);
  const f = path.join(tmp, 'range');
  fs.writeFileSync(f, data);
  const fh = await fs.promises.open(f, 'r');
  try {
    const s = new Sha256Stream();
    const n = FILE_PIECE_BYTES + 100; // two pieces on the pool, each of several native reads
    const a = s.updateFromFile(fh.fd, 17, n, f);
    const b = s.update(data.subarray(0, 10)); // queued behind the file range
    await Promise.all([a, b]);
    expect(await s.digest()).toBe(sha(Buffer.concat([data.subarray(17, 17 + n), data.subarray(0, 10)])));
  } finally {
    await fh.close();
  }
});

test('a file shorter than the range is an error naming it, and poisons the stream', async () => {
  const f = path.join(tmp, 'short');
  fs.writeFileSync(f, randomBytes(100));
  const fh = await fs.promises.open(f, 'r');
  try {
    const s = new Sha256Stream();
    await expect(s.updateFromFile(fh.fd, 50, 100, f)).rejects.toThrow(/short.*file ended while hashing/);
    await expect(s.update(Buffer.from('x'))).rejects.toThrow(/file ended/);
    await expect(s.digest()).rejects.toThrow(/file ended/);
  } finally {
    await fh.close();
  }
});

test('a missing file is an error naming it; a finished stream refuses more bytes', async () => {
  await expect(sha256FileNative(path.join(tmp, 'nope'))).rejects.toThrow(/nope.*cannot hash/);
  const s = new Sha256Stream();
  await s.digest();
  expect(() => s.update(Buffer.from('x'))).toThrow(/already finished/);
});

test('the addon refuses a second update on a handle while one is running (no race on the state)', async () => {
  type A = { sha256New(): unknown; sha256Update(h: unknown, b: Uint8Array): Promise<void>; sha256Digest(h: unknown): string };
  const a = nativeAddon<A>();
  const h = a.sha256New();
  const big = randomBytes(4 << 20);
  const first = a.sha256Update(h, big);
  expect(() => a.sha256Update(h, big)).toThrow(/still running/);
  await first;
  expect(a.sha256Digest(h)).toBe(sha(big));
  expect(() => a.sha256Digest(h)).toThrow(/already taken/);
  expect(() => a.sha256Update({} as unknown, big)).toThrow(/sha256 handle/);
});
