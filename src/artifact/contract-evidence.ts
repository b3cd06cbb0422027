/**
 * What a contract status rests on. MTPLX never re-checks `exactness_baseline` (a label, not a gate), so
 * a hand-edited `passed` would read as verified. The gate that sets a status (mtpkit smoke) therefore
 * records evidence beside it: which tool ran which gate, the status it measured, and the sha256 of every
 * file the result depends on. Validate judges each claimed status against that evidence. This makes a
 * bare claim visible; it is not a signature (whoever edits the status can also recompute checksums).
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { BLOCKING_STATUS_PREFIXES } from './contract-blockers';

/** The gate `mtpkit smoke` records in `exactness_baseline.gate`. */
export const SMOKE_GATE = 'mtpkit-smoke-greedy-ar-equivalence';
/** Files a gate result does not depend on: they are rewritten when the result is recorded. */
export const EVIDENCE_EXCLUDED: readonly string[] = ['README.md', 'mtplx_runtime.json'];

export interface EvidenceFile {
  file: string;
  size: number;
  sha256: string;
}

/** Stored as `exactness_baseline.evidence`. */
export interface GateEvidence {
  /** `mtpkit 0.1.0`. */
  tool: string;
  /** The status the gate measured (a later edit of `status` no longer matches it). */
  status: string;
  files: EvidenceFile[];
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The artifact's files a gate result covers: every regular top-level file (also through a symlink, as in
 * the Hub cache's snapshots) but the card, the contract and dot files.
 */
export async function evidenceFileNames(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    if (e.name.startsWith('.') || EVIDENCE_EXCLUDED.includes(e.name)) continue;
    const file = e.isFile() || (e.isSymbolicLink() && (await fsp.stat(path.join(dir, e.name)).then((st) => st.isFile(), () => false)));
    if (file) out.push(e.name);
  }
  return out.sort();
}

/** A status that says something passed or was verified (not pending, failing, or "not run"). */
export function isSuccessClaim(status: unknown): status is string {
  return typeof status === 'string' && status !== 'not_run' && !BLOCKING_STATUS_PREFIXES.some((p) => status.startsWith(p));
}

export interface EvidenceJudgement {
  problems: string[];
  warnings: string[];
  info: string[];
}

/**
 * Judges every success status of `doc` (exactness_baseline, speed_evidence, verified_on) against the
 * recorded evidence. `actual` holds the current size and sha256 of each file `evidenceFileNames` lists.
 * Claims with no gate, or with mtpkit's gate but missing / stale evidence, are problems: mtpkit always
 * records evidence, so such a claim was edited or made for other files. A gate of another tool is a
 * warning: its evidence cannot be checked here, but it may be genuine (MTPLX's own packs).
 */
export function judgeEvidence(doc: Json, actual: ReadonlyMap<string, { size: number; sha256: string }>, file: string): EvidenceJudgement {
  const out: EvidenceJudgement = { problems: [], warnings: [], info: [] };
  const claims = (['exactness_baseline', 'speed_evidence', 'verified_on'] as const)
    .map((block) => ({ block, status: isObj(doc[block]) ? (doc[block] as Json).status : undefined }))
    .filter((c): c is { block: typeof c.block; status: string } => isSuccessClaim(c.status));
  if (!claims.length) return out;
  const claimed = claims.map((c) => `${c.block}.status '${c.status}'`).join(', ');
  const base = isObj(doc.exactness_baseline) ? doc.exactness_baseline : {};
  const gate = base.gate;
  if (typeof gate !== 'string' || !gate) {
    out.problems.push(`${file}: ${claimed} but no gate is recorded in exactness_baseline.gate: a claim without evidence (hand-edited?)`);
    return out;
  }
  if (gate !== SMOKE_GATE) {
    out.warnings.push(`${file}: ${claimed} rests on gate '${gate}', which mtpkit cannot check (its evidence is not recorded in a form mtpkit reads)`);
    return out;
  }
  const ev = isObj(base.evidence) ? base.evidence : undefined;
  const files = ev && Array.isArray(ev.files) ? ev.files.filter(isObj) : undefined;
  if (!ev || typeof ev.status !== 'string' || !files) {
    out.problems.push(`${file}: ${claimed} names gate '${gate}' but exactness_baseline.evidence (tool, status, file checksums) is missing or incomplete; mtpkit smoke always writes it (hand-edited?)`);
    return out;
  }
  for (const c of claims) {
    if (c.block !== 'verified_on' && c.status !== ev.status) {
      out.problems.push(`${file}: ${c.block}.status is '${c.status}' but the gate recorded '${ev.status}' (hand-edited?)`);
    }
  }
  if (!isSuccessClaim(ev.status) && claims.some((c) => c.block !== 'verified_on')) return out;
  const covered = new Set<string>();
  const stale: string[] = [];
  for (const f of files) {
    if (typeof f.file !== 'string') continue;
    covered.add(f.file);
    const now = actual.get(f.file);
    if (!now) stale.push(`'${f.file}' (missing now)`);
    else if (now.size !== f.size || now.sha256 !== f.sha256) stale.push(`'${f.file}' (changed)`);
  }
  const uncovered = [...actual.keys()].filter((n) => !covered.has(n));
  if (stale.length) out.problems.push(`${file}: the ${gate} evidence does not match the files: ${stale.join(', ')}; the result was recorded for other bytes`);
  if (uncovered.length) out.problems.push(`${file}: the ${gate} evidence does not cover ${uncovered.map((n) => `'${n}'`).join(', ')} (added after the gate ran)`);
  if (!stale.length && !uncovered.length) {
    const when = typeof base.timestamp === 'string' ? ` at ${base.timestamp}` : '';
    out.info.push(`${file}: ${claimed} rests on ${gate} run by ${String(ev.tool)}${when}, for ${covered.size} file(s) whose sha256 match`);
  }
  return out;
}

/** Evidence for a gate result on `dir`, hashing each covered file with `hash`. */
export async function collectEvidence(
  dir: string,
  tool: string,
  status: string,
  hash: (absPath: string) => Promise<{ size: number; sha256: string }>,
): Promise<GateEvidence> {
  const files: EvidenceFile[] = [];
  for (const name of await evidenceFileNames(dir)) files.push({ file: name, ...(await hash(path.join(dir, name))) });
  return { tool, status, files };
}
