/**
 * `--resume`: the hidden partial folder keeps a manifest of finished shards with their sha256. A new run
 * with the same plan reuses a shard only if the file on disk still hashes to the recorded value.
 */
import { createHash } from 'crypto';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { sha256File } from '../checksum/checksums';
import type { FileDigest } from './execute-plan';
import { writeFileAtomic } from '../safetensors/writer';

export const RESUME_FILE = '.mtpkit-resume.json';

interface ResumeManifest {
  version: 1;
  planHash: string;
  shards: Record<string, FileDigest>;
}

/** Identity of everything that decides the bytes of the output shards. */
export function planFingerprint(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

async function readManifest(dir: string): Promise<ResumeManifest | undefined> {
  try {
    const m = JSON.parse(await fsp.readFile(path.join(dir, RESUME_FILE), 'utf8')) as ResumeManifest;
    return m && m.version === 1 && typeof m.planHash === 'string' && m.shards ? m : undefined;
  } catch {
    return undefined;
  }
}

/** Finished shards that can be reused: same plan, file present, size and sha256 as recorded. */
export async function reusableShards(dir: string, planHash: string): Promise<Map<string, FileDigest>> {
  const out = new Map<string, FileDigest>();
  const m = await readManifest(dir);
  if (!m || m.planHash !== planHash) return out;
  for (const [file, d] of Object.entries(m.shards)) {
    const p = path.join(dir, file);
    try {
      if ((await fsp.stat(p)).size !== d.size) continue;
      if ((await sha256File(p)).sha256 === d.sha256) out.set(file, d);
    } catch {
      // missing: recompute it
    }
  }
  return out;
}

export class ResumeLog {
  private readonly shards: Record<string, FileDigest> = {};
  /** Manifest writes happen one after another, each with the whole map. */
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string, private readonly planHash: string, kept: Map<string, FileDigest>) {
    for (const [f, d] of kept) this.shards[f] = d;
  }

  record(file: string, digest: FileDigest): Promise<void> {
    this.shards[file] = digest;
    const m: ResumeManifest = { version: 1, planHash: this.planHash, shards: { ...this.shards } };
    this.saving = this.saving.catch(() => undefined).then(() => writeFileAtomic(path.join(this.dir, RESUME_FILE), JSON.stringify(m, null, 2)));
    return this.saving;
  }

  get count(): number {
    return Object.keys(this.shards).length;
  }
}
