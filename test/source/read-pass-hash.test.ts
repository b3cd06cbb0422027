/**
 * A file's sha256 computed from the reads a converter makes (read-pass-hash.ts) must be the file's
 * sha256 (node's crypto over the whole file) whatever the reads do: in order, with gaps, out of
 * order, overlapping, failing, or none at all. In-order reads must not read the file twice.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { seededRng } from '../../src/numeric/prng';
import { FILE_PIECE_BYTES } from '../../src/native/sha256-stream';
import { bytesHashedFromReads, ReadPassHash, type FileRange } from '../../src/source/read-pass-hash';

let tmp: string;
let file: string;
let bytes: Buffer;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-readpass-'));
  file = path.join(tmp, 'x.bin');
  const rng = seededRng(3);
  // Longer than one hashing piece, so fills and the tail cross piece boundaries.
  bytes = Buffer.alloc(FILE_PIECE_BYTES + 300_001);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(rng() * 256);
  fs.writeFileSync(file, bytes);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const expected = () => createHash('sha256').update(bytes).digest('hex');

/** Reads `ranges` the way the converter does (all issued at once, positional reads into fresh buffers). */
async function hashWithReads(ranges: FileRange[], fail: (i: number) => boolean = () => false) {
  const h = await ReadPassHash.open(file, 'x.bin');
  const fd = fs.openSync(file, 'r');
  try {
    const reads = ranges.map((r, i) => {
      const dest = Buffer.alloc(r.end - r.start);
      const read = new Promise<void>((resolve, reject) =>
        // completion order is shuffled on purpose: the hasher serves reads in call order
        setTimeout(() => {
          if (fail(i)) return reject(new Error('read failed'));
          fs.readSync(fd, dest, 0, dest.length, r.start);
          resolve();
        }, (i * 7) % 5),
      );
      return h.track(r.start, dest, read).then(
        () => true,
        () => false,
      );
    });
    const ok = await Promise.all(reads);
    const d = await h.digest();
    return { ...d, ok, fromReads: h.fromReads, fromFile: h.fromFile };
  } finally {
    fs.closeSync(fd);
  }
}

describe('ReadPassHash: the digest is the file sha256 whatever the reads', () => {
  test('in-order reads with a header and gaps: every byte hashed once, read bytes not read again', async () => {
    const n = bytes.length;
    const ranges = [
      { start: 100, end: 5000 },
      { start: 5000, end: 400_000 },
      { start: 500_000, end: FILE_PIECE_BYTES + 10 },
      { start: FILE_PIECE_BYTES + 10, end: n - 7 },
    ];
    const r = await hashWithReads(ranges);
    expect(r.sha256).toBe(expected());
    expect(r.size).toBe(n);
    const read = ranges.reduce((a, x) => a + x.end - x.start, 0);
    expect(r.fromReads).toBe(read);
    expect(r.fromFile).toBe(n - read);
  });

  test('no reads at all, one read of everything', async () => {
    expect((await hashWithReads([])).sha256).toBe(expected());
    const all = await hashWithReads([{ start: 0, end: bytes.length }]);
    expect(all.sha256).toBe(expected());
    expect(all.fromFile).toBe(0);
  });

  test('random reads: out of order, overlapping, repeated, some failing', async () => {
    const rng = seededRng(11);
    for (let trial = 0; trial < 12; trial++) {
      const ranges: FileRange[] = [];
      for (let k = 0; k < 1 + Math.floor(rng() * 8); k++) {
        const a = Math.floor(rng() * bytes.length);
        const b = Math.min(bytes.length, a + Math.floor(rng() * 3_000_000));
        ranges.push({ start: a, end: b });
      }
      const failing = new Set(ranges.map((_, i) => i).filter(() => rng() < 0.2));
      const r = await hashWithReads(ranges, (i) => failing.has(i));
      expect(r.sha256).toBe(expected());
      expect(r.ok).toEqual(ranges.map((_, i) => !failing.has(i)));
      expect(r.fromReads + r.fromFile).toBe(bytes.length);
      if (failing.size === 0) expect(r.fromReads).toBe(bytesHashedFromReads(ranges));
    }
  });

  test('bytesHashedFromReads: the cursor walk, counted by hand', () => {
    expect(bytesHashedFromReads([])).toBe(0);
    expect(bytesHashedFromReads([{ start: 0, end: 5 }, { start: 5, end: 9 }, { start: 20, end: 30 }])).toBe(19);
    expect(bytesHashedFromReads([{ start: 0, end: 5 }, { start: 4, end: 9 }])).toBe(9); // overlap counted once
    expect(bytesHashedFromReads([{ start: 10, end: 15 }, { start: 0, end: 5 }])).toBe(5); // [0, 10) from the file
  });

  test('digest() twice gives the same answer; reads tracked after it are passed through', async () => {
    const h = await ReadPassHash.open(file, 'x.bin');
    const first = await h.digest();
    expect(first.sha256).toBe(expected());
    const dest = Buffer.alloc(10);
    await h.track(0, dest, Promise.resolve());
    await expect(h.track(0, dest, Promise.reject(new Error('late read failed')))).rejects.toThrow('late read failed');
    expect(await h.digest()).toEqual(first);
  });

  test('close() before digest(): digest fails instead of reading a closed descriptor', async () => {
    const h = await ReadPassHash.open(file, 'x.bin');
    await h.close();
    await expect(h.digest()).rejects.toThrow(/closed before its checksum was complete/);
  });
});
