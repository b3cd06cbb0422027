/**
 * `--resume`: the hidden partial folder keeps a manifest of finished shards with their sha256 and the
 * fingerprint of everything that decides their bytes. A new run reuses a shard only when the
 * fingerprint is identical and the file on disk still hashes to the recorded value; anything else in
 * the folder (another layout's shards, a killed writer's `*.tmp-*` file) is deleted before work starts.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { sha256File } from '../checksum/checksums';
import type { FileDigest } from './execute-plan';
import { writeFileAtomic } from '../safetensors/writer';

export const RESUME_FILE = '.mtpkit-resume.json';

/** Human-readable settings of a run, kept beside the hash so a mismatch can be explained. */
export type RunSettings = Record<string, string>;

interface ResumeManifest {
  version: 2;
  planHash: string;
  settings: RunSettings;
  shards: Record<string, FileDigest>;
}

async function readManifest(dir: string): Promise<ResumeManifest | undefined> {
  try {
    const m = JSON.parse(await fsp.readFile(path.join(dir, RESUME_FILE), 'utf8')) as ResumeManifest;
    return m && m.version === 2 && typeof m.planHash === 'string' && m.shards && m.settings ? m : undefined;
  } catch {
    return undefined;
  }
}

export interface ResumeStart {
  /** Finished shards reused: same fingerprint, file present, size and sha256 as recorded. */
  kept: Map<string, FileDigest>;
  /** What happened to an earlier partial folder, for the user (undefined when there was none). */
  note?: string;
}

/** `key old -> new` for every setting that differs, to say why two fingerprints differ. */
export function settingsDiff(old: RunSettings, now: RunSettings): string {
  const keys = [...new Set([...Object.keys(old), ...Object.keys(now)])].filter((k) => old[k] !== now[k]);
  if (!keys.length) return 'the plan differs';
  return keys.map((k) => `${k} ${old[k] ?? '(unset)'} -> ${now[k] ?? '(unset)'}`).join(', ');
}

/**
 * Prepares the partial folder `dir` for a run with fingerprint `planHash`: keeps the verified shards
 * of an identical earlier plan (with `resume`), deletes everything else, and says what it did.
 */
export async function startPartialDir(dir: string, planHash: string, settings: RunSettings, resume: boolean): Promise<ResumeStart> {
  const kept = new Map<string, FileDigest>();
  let entries: string[];
  try {
    entries = await fsp.readdir(dir);
  } catch {
    entries = [];
  }
  let note: string | undefined;
  if (entries.length) {
    const m = resume ? await readManifest(dir) : undefined;
    if (!resume) note = `removed the partial output of an earlier interrupted run (${dir}); pass --resume to reuse its finished shards`;
    else if (!m) note = `--resume: the earlier partial output has no usable manifest (another mtpkit version, or no shard finished); starting clean`;
    else if (m.planHash !== planHash) note = `--resume: the interrupted run had different settings (${settingsDiff(m.settings, settings)}); its shards do not fit this plan, starting clean`;
    else {
      for (const [file, d] of Object.entries(m.shards)) {
        const p = path.join(dir, file);
        try {
          const st = await fsp.lstat(p);
          if (st.isFile() && st.size === d.size && (await sha256File(p)).sha256 === d.sha256) kept.set(file, d);
        } catch {
          // missing: recompute it
        }
      }
      const bad = Object.keys(m.shards).filter((f) => !kept.has(f));
      note = `--resume: reusing ${kept.size} finished shard(s)${bad.length ? `; ${bad.length} recorded shard(s) changed on disk and will be rewritten (${bad.join(', ')})` : ''}`;
    }
    // Nothing but verified shards survives: a stale layout's shards or a killed writer's temp file
    // would otherwise be renamed into the artifact with everything else.
    // The manifest stays while it names kept shards (ResumeLog rewrites it); a shard it names that is
    // gone later is simply recomputed.
    for (const e of entries) {
      if (kept.has(e) || (e === RESUME_FILE && kept.size)) continue;
      await fsp.rm(path.join(dir, e), { recursive: true, force: true });
    }
  }
  await fsp.mkdir(dir, { recursive: true });
  return { kept, note };
}

export class ResumeLog {
  private readonly shards: Record<string, FileDigest> = {};
  /** Manifest writes happen one after another, each with the whole map. */
  private saving: Promise<void> = Promise.resolve();

  constructor(private readonly dir: string, private readonly planHash: string, private readonly settings: RunSettings, kept: Map<string, FileDigest>) {
    for (const [f, d] of kept) this.shards[f] = d;
    // Rewritten at once without the shards that failed their check.
    if (kept.size) this.save().catch(() => undefined);
  }

  record(file: string, digest: FileDigest): Promise<void> {
    this.shards[file] = digest;
    return this.save();
  }

  private save(): Promise<void> {
    const m: ResumeManifest = { version: 2, planHash: this.planHash, settings: this.settings, shards: { ...this.shards } };
    this.saving = this.saving.catch(() => undefined).then(() => writeFileAtomic(path.join(this.dir, RESUME_FILE), JSON.stringify(m, null, 2)));
    return this.saving;
  }

  /** Resolves once every manifest write started so far is on disk. */
  settled(): Promise<void> {
    return this.saving.catch(() => undefined);
  }

  get files(): string[] {
    return Object.keys(this.shards);
  }

  get count(): number {
    return Object.keys(this.shards).length;
  }
}
