/**
 * Reusable byte buffers for tensor reads. A fresh multi-MB Buffer per tensor costs a page fault per
 * 4 KiB and the kernel's zeroing on every read (about 0.5 GB/s on a busy machine, against 6-8 GB/s
 * into a reused buffer). Buffers go back with release() once nothing reads them any more; the pool
 * keeps a few (the largest) and lets the garbage collector take the rest, so memory stays bounded by
 * the tensors in flight plus `maxFree` spares, whatever the model size.
 */
export class BufferPool {
  private readonly free: ArrayBuffer[] = [];
  /** Buffers handed out and not yet released (by their ArrayBuffer, which views share). */
  private readonly lent = new Set<ArrayBuffer>();

  constructor(private readonly maxFree = 3) {}

  /** A buffer of exactly `bytes` bytes whose contents are unspecified: the caller overwrites all of it. */
  acquire(bytes: number): Buffer {
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const cap = this.free[i].byteLength;
      if (cap >= bytes && (best < 0 || cap < this.free[best].byteLength)) best = i;
    }
    // Rounded up so slightly larger tensors later can reuse this one.
    const ab = best >= 0 ? this.free.splice(best, 1)[0] : new ArrayBuffer(Math.max(1, roundUp(bytes)));
    this.lent.add(ab);
    return Buffer.from(ab, 0, bytes);
  }

  /** Whether `buf` is a view of a buffer this pool lent and has not had back. */
  owns(buf: Uint8Array): boolean {
    return this.lent.has(buf.buffer as ArrayBuffer);
  }

  /** Gives a buffer back; it may be handed out again at once. Buffers the pool did not lend are ignored. */
  release(buf: Uint8Array): void {
    const ab = buf.buffer as ArrayBuffer;
    if (!this.lent.delete(ab)) return;
    this.free.push(ab);
    if (this.free.length > this.maxFree) {
      this.free.sort((a, b) => b.byteLength - a.byteLength);
      this.free.length = this.maxFree;
    }
  }

  /** Bytes held by spares (for tests and memory reports). */
  get freeBytes(): number {
    return this.free.reduce((a, b) => a + b.byteLength, 0);
  }
}

const MiB = 1 << 20;

function roundUp(bytes: number): number {
  return bytes <= MiB ? bytes : Math.ceil(bytes / MiB) * MiB;
}
