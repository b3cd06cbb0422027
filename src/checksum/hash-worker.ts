/**
 * sha256 of files on a worker thread, so checksums for provenance never hold up the conversion's main
 * thread. One worker serves every request in order; it is unref'd, so it never keeps the process alive.
 */
import { Worker } from 'worker_threads';
import { MtpkitError } from '../errors';

// Plain JS so it runs the same from src/ (ts-jest) and dist/.
const WORKER_CODE = `
const { parentPort } = require('worker_threads');
const { createHash } = require('crypto');
const fs = require('fs');
const buf = Buffer.allocUnsafe(8 << 20);
parentPort.on('message', ({ id, file }) => {
  let fd;
  try {
    fd = fs.openSync(file, 'r');
    const hash = createHash('sha256');
    let size = 0;
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, size);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      size += n;
    }
    const onDisk = fs.fstatSync(fd).size;
    if (onDisk !== size) throw new Error('file changed while hashing (' + size + ' bytes read, ' + onDisk + ' on disk)');
    parentPort.postMessage({ id, size, sha256: hash.digest('hex') });
  } catch (e) {
    parentPort.postMessage({ id, error: String(e && e.message ? e.message : e) });
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
});
`;

interface Pending {
  resolve: (v: { size: number; sha256: string }) => void;
  reject: (e: Error) => void;
  file: string;
}

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, Pending>();
/** Requests awaiting an answer: the worker keeps the process alive only while there are some. */
let users = 0;

function use(w: Worker): void {
  if (users++ === 0) w.ref();
}

function release(w: Worker): void {
  if (--users === 0) w.unref();
}

function getWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER_CODE, { eval: true });
  w.on('message', (m: { id: number; size?: number; sha256?: string; error?: string }) => {
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    release(w);
    if (m.error !== undefined) p.reject(new MtpkitError(`cannot hash: ${m.error}`, { file: p.file }));
    else p.resolve({ size: m.size!, sha256: m.sha256! });
  });
  w.on('error', (err) => {
    for (const p of pending.values()) p.reject(new MtpkitError(`hash worker failed: ${err.message}`, { file: p.file }));
    pending.clear();
    users = 0;
    worker = undefined;
  });
  w.unref();
  worker = w;
  return w;
}

/** sha256 and size of a file, computed on the hash worker thread. */
export function sha256FileOffThread(file: string): Promise<{ size: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const w = getWorker();
    const id = nextId++;
    pending.set(id, { resolve, reject, file });
    use(w);
    w.postMessage({ id, file });
  });
}
