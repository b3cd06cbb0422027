/**
 * MTPLX's blocker semantics (`registry.py::compatibility_for_inspection`, youssofal/MTPLX mtplx/artifacts.py, mtplx/backends/registry.py, mtplx/constants.py):
 * a blocker labels a model "architecture-compatible-but-unverified"; it still runs. So validate
 * reports blockers as information, not as problems.
 */

/** Status prefixes MTPLX treats as blocking (the exact member list of BLOCKING_RUNTIME_STATUSES is unverified). */
export const BLOCKING_STATUS_PREFIXES: readonly string[] = [
  'candidate_', 'fail_', 'pending_', 'blocked_', 'blocker_', 'needs_', 'unverified_',
];

/** `speed_evidence.verdict` values that are not a win (§5); MTPLX's own list is unverified. */
export const BLOCKING_SPEED_VERDICTS: readonly string[] = [
  'mtp_acceptance_collapsed', 'no_mtp_depth_beat_ar', 'no_quality_passed_mtp_depth_beat_ar',
];

function field(obj: unknown, key: string): unknown {
  return obj !== null && typeof obj === 'object' && !Array.isArray(obj) ? (obj as Record<string, unknown>)[key] : undefined;
}

function blockingStatus(status: unknown): boolean {
  return typeof status === 'string' && BLOCKING_STATUS_PREFIXES.some((p) => status.startsWith(p));
}

/** Why MTPLX would label this contract unverified; empty when nothing blocks. */
export function contractBlockers(obj: unknown): string[] {
  const out: string[] = [];
  for (const block of ['exactness_baseline', 'speed_evidence']) {
    const status = field(field(obj, block), 'status');
    if (blockingStatus(status)) out.push(`${block}.status is '${status as string}' (MTPLX reads it as unverified)`);
  }
  const verdict = field(field(obj, 'speed_evidence'), 'verdict');
  if (typeof verdict === 'string' && BLOCKING_SPEED_VERDICTS.includes(verdict)) {
    out.push(`speed_evidence.verdict is '${verdict}' (not an MTP win: MTPLX reads it as unverified)`);
  }
  if (field(obj, 'public_release_blocker') === true) out.push('public_release_blocker is true');
  return out;
}
