/**
 * The I/O floor of a conversion: read every input byte once, write as many bytes as the conversion
 * outputs, fsync (as our writer does). No parsing, hashing or compute: what any converter must pay.
 */
import { randomFillSync } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';

const CHUNK = 8 * 2 ** 20;

const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;

/** Reads the files one after the other with 8 MiB positional reads into one reused buffer. */
export async function readFilesSequentially(files: string[]): Promise<{ bytes: number; seconds: number }> {
  const buf = Buffer.allocUnsafe(CHUNK);
  let bytes = 0;
  const t0 = process.hrtime.bigint();
  for (const f of files) {
    const fh = await fsp.open(f, 'r');
    try {
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) break;
        bytes += bytesRead;
      }
    } finally {
      await fh.close();
    }
  }
  return { bytes, seconds: seconds(t0) };
}

/** Writes `bytes` bytes of incompressible data to a new file in 8 MiB writes, fsyncs, then deletes it (untimed). */
export async function writeAndSync(dir: string, bytes: number): Promise<{ seconds: number }> {
  const buf = randomFillSync(Buffer.allocUnsafe(CHUNK));
  const file = path.join(dir, `io-floor-${process.pid}-${Date.now()}.bin`);
  const t0 = process.hrtime.bigint();
  const fh = await fsp.open(file, 'wx');
  try {
    for (let left = bytes; left > 0; ) {
      const n = Math.min(left, CHUNK);
      let off = 0;
      while (off < n) off += (await fh.write(buf, off, n - off)).bytesWritten;
      left -= n;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  const s = seconds(t0);
  await fsp.rm(file, { force: true });
  return { seconds: s };
}

export interface IoFloor {
  readBytes: number;
  writeBytes: number;
  readSeconds: number;
  writeSeconds: number;
  /** readSeconds + writeSeconds */
  seconds: number;
}

export async function measureIoFloor(inputFiles: string[], outputBytes: number, scratchDir: string): Promise<IoFloor> {
  const r = await readFilesSequentially(inputFiles);
  const w = await writeAndSync(scratchDir, outputBytes);
  return { readBytes: r.bytes, writeBytes: outputBytes, readSeconds: r.seconds, writeSeconds: w.seconds, seconds: r.seconds + w.seconds };
}
