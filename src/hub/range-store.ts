/**
 * Byte ranges of blobs we did not download whole: `<dir>/<blob id>/<start>-<end>.bin`, each written
 * to a temporary name and renamed once complete, so a file's name always states its exact content.
 * Reads check the stored length; a file of the wrong length is deleted and treated as missing.
 * Kept apart from blobs/ so a partial file never poses as a whole one.
 */
import { promises as fsp } from 'fs';
import * as fs from 'fs';
import * as path from 'path';
import { MtpkitError } from '../errors';
import { writeFileAtomic } from '../safetensors/writer';

export interface ByteRange {
  /** Inclusive. */
  start: number;
  /** Exclusive. */
  end: number;
}

interface Piece extends ByteRange {
  file: string;
}

const NAME = /^(\d+)-(\d+)\.bin$/;

export class RangeStore {
  private readonly index = new Map<string, Piece[]>();

  constructor(readonly dir: string) {}

  private idDir(id: string): string {
    if (!/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(id)) throw new MtpkitError(`invalid blob id ${JSON.stringify(id)}`, { file: this.dir });
    return path.join(this.dir, id);
  }

  rangePath(id: string, r: ByteRange): string {
    return path.join(this.idDir(id), `${r.start}-${r.end}.bin`);
  }

  private load(id: string): Piece[] {
    const dir = this.idDir(id);
    const pieces: Piece[] = [];
    let names: string[] = [];
    try {
      names = fs.readdirSync(dir);
    } catch {
      /* none yet */
    }
    for (const name of names) {
      const m = NAME.exec(name);
      if (!m) continue;
      const start = Number(m[1]);
      const end = Number(m[2]);
      if (Number.isSafeInteger(start) && Number.isSafeInteger(end) && end > start) pieces.push({ start, end, file: path.join(dir, name) });
    }
    pieces.sort((a, b) => a.start - b.start || b.end - a.end);
    this.index.set(id, pieces);
    return pieces;
  }

  private pieces(id: string): Piece[] {
    return this.index.get(id) ?? this.load(id);
  }

  /** Pieces that together cover [start, end), or undefined if some byte is missing. */
  private cover(pieces: Piece[], r: ByteRange): Piece[] | undefined {
    const out: Piece[] = [];
    let pos = r.start;
    while (pos < r.end) {
      let best: Piece | undefined;
      for (const p of pieces) {
        if (p.start > pos) break;
        if (p.end > pos && (!best || p.end > best.end)) best = p;
      }
      if (!best) return undefined;
      out.push(best);
      pos = best.end;
    }
    return out;
  }

  /** The parts of [start, end) not stored yet (after re-reading the folder, as another process may have added some). */
  missing(id: string, r: ByteRange): ByteRange[] {
    const pieces = this.load(id);
    const gaps: ByteRange[] = [];
    let pos = r.start;
    for (const p of pieces) {
      if (p.end <= pos) continue;
      if (p.start >= r.end) break;
      if (p.start > pos) gaps.push({ start: pos, end: p.start });
      pos = Math.max(pos, p.end);
      if (pos >= r.end) break;
    }
    if (pos < r.end) gaps.push({ start: pos, end: r.end });
    return gaps;
  }

  has(id: string, r: ByteRange): boolean {
    return r.end <= r.start || this.cover(this.pieces(id), r) !== undefined || this.cover(this.load(id), r) !== undefined;
  }

  /** Bytes [start, end) from stored pieces, or undefined if not all stored (or a piece was damaged). */
  async read(id: string, r: ByteRange): Promise<Buffer | undefined> {
    if (r.end <= r.start) return Buffer.alloc(0);
    const pieces = this.cover(this.pieces(id), r) ?? this.cover(this.load(id), r);
    if (!pieces) return undefined;
    const out = Buffer.allocUnsafe(r.end - r.start);
    let pos = r.start;
    for (const p of pieces) {
      const want = Math.min(p.end, r.end) - pos;
      let fh: fsp.FileHandle | undefined;
      try {
        fh = await fsp.open(p.file, 'r');
        const st = await fh.stat();
        if (st.size !== p.end - p.start) {
          await fh.close();
          fh = undefined;
          await fsp.rm(p.file, { force: true });
          this.index.delete(id);
          return undefined;
        }
        const { bytesRead } = await fh.read(out, pos - r.start, want, pos - p.start);
        if (bytesRead !== want) return undefined;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          this.index.delete(id);
          return undefined;
        }
        throw new MtpkitError(`cannot read cached range: ${(e as Error).message}`, { file: p.file });
      } finally {
        await fh?.close().catch(() => undefined);
      }
      pos += want;
    }
    return out;
  }

  /** Stores `data` as the range starting at `start` (atomic). */
  async write(id: string, start: number, data: Buffer): Promise<void> {
    const r = { start, end: start + data.length };
    if (r.end <= r.start) return;
    await fsp.mkdir(this.idDir(id), { recursive: true });
    await writeFileAtomic(this.rangePath(id, r), data);
    this.index.delete(id);
  }

  /** Moves a completed temporary file (already checked to hold exactly the range) into place. */
  async adopt(id: string, r: ByteRange, tmpFile: string): Promise<void> {
    await fsp.mkdir(this.idDir(id), { recursive: true });
    await fsp.rename(tmpFile, this.rangePath(id, r));
    this.index.delete(id);
  }

  tempPath(id: string, r: ByteRange): string {
    return `${this.rangePath(id, r)}.incomplete-${process.pid}-${Math.random().toString(16).slice(2)}`;
  }

  async ensureDir(id: string): Promise<void> {
    await fsp.mkdir(this.idDir(id), { recursive: true });
  }
}
