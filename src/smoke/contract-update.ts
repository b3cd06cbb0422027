/**
 * Writes a smoke result into `mtplx_runtime.json` in MTPLX's vocabulary (mtp-runtime-contract §1-§5):
 * `exactness_baseline` (gate, status, prompts, max tokens, matches), `speed_evidence` (acceptance by
 * depth, AR / MTP tok/s, verdict), `verified_on` (engine, version, CPU, threads) and the calibrated
 * wiring in `mtp_contract`. Only the contract changes, so the other files' recorded checksums hold.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { InputError } from '../errors';
import { formatRuntimeContract, RUNTIME_CONTRACT_FILE, validateRuntimeContract } from '../artifact/contract';
import type { SmokeReport } from './run-smoke';

export const SMOKE_GATE = 'mtpkit-smoke-greedy-ar-equivalence';

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

export function contractWithSmoke(contract: Record<string, any>, r: SmokeReport, now = new Date()): Record<string, any> {
  const out = { ...contract };
  const timestamp = now.toISOString();
  const total = r.prompts.length * r.depths.length;
  out.exactness_baseline = {
    gate: SMOKE_GATE,
    status: r.status,
    prompts: r.prompts,
    max_tokens: r.maxTokens,
    depths: r.depths.map((d) => d.depth),
    matches: r.depths.reduce((a, d) => a + d.matches, 0),
    total,
    seed: 0,
    timestamp,
    ...(r.reasons.length ? { failure_reasons: r.reasons } : {}),
  };
  if (r.depths.length) {
    const best = r.depths.reduce((a, b) => (b.mtpTokS > a.mtpTokS ? b : a));
    const deepest = r.depths.reduce((a, b) => (b.depth > a.depth ? b : a));
    out.speed_evidence = {
      status: r.status,
      mtp_depth: best.depth,
      acceptance_by_depth: deepest.acceptanceByPosition.map((x) => round(x)),
      ar_tok_s: round(r.arTokS, 2),
      mtp_tok_s: round(best.mtpTokS, 2),
      speedup_vs_ar: round(best.speedup, 3),
      acceptance_collapsed: r.verdict === 'mtp_acceptance_collapsed',
      verdict: r.verdict,
      rows: r.depths.map((d) => ({
        depth: d.depth,
        tok_s: round(d.mtpTokS, 2),
        multiplier_vs_ar: round(d.speedup, 3),
        acceptance_by_position: d.acceptanceByPosition.map((x) => round(x)),
        mean_accepted_length: round(d.meanAcceptedLength),
        accepted_drafts_histogram: d.histogram,
        greedy_identity: d.identity,
      })),
      sampler: { temperature: 0 },
      generated_tokens_per_prompt: r.maxTokens,
    };
  } else {
    out.speed_evidence = { status: r.status, verdict: undefined, failure_reasons: r.reasons };
    delete out.speed_evidence.verdict;
  }
  out.verified_on = {
    status: 'smoke_test',
    timestamp,
    engine: r.engine.name,
    engine_version: r.engine.version,
    hardware: r.engine.cpu,
    threads: r.engine.threads,
    platform: r.engine.platform,
    machine_arch: r.engine.arch,
  };
  if (r.wiring) {
    out.mtp_contract = {
      ...(out.mtp_contract ?? {}),
      base_hidden_variant: r.wiring.best.base_hidden_variant,
      concat_order: r.wiring.best.concat_order,
      calibration: {
        probe: 'mtpkit-smoke-wiring',
        status: r.wiring.candidates.some((c) => c.acceptance > 0.05) ? 'exact_agreement' : 'no_agreement_signal',
        depth: 1,
        stated: r.wiring.stated,
        agreement_by_wiring: r.wiring.candidates.map((c) => ({ base_hidden_variant: c.base_hidden_variant, concat_order: c.concat_order, agreement: round(c.acceptance) })),
        ...(r.wiring.warnings.length ? { diagnostic: r.wiring.warnings.join('; ') } : {}),
      },
    };
  }
  return out;
}

/** Reads, updates, validates and rewrites the artifact's contract. */
export async function writeSmokeContract(dir: string, r: SmokeReport): Promise<void> {
  const file = path.join(dir, RUNTIME_CONTRACT_FILE);
  const text = await fsp.readFile(file, 'utf8').catch(() => {
    throw new InputError(`missing: the smoke result is recorded in the runtime contract`, { file });
  });
  const next = contractWithSmoke(JSON.parse(text), r);
  const problems = validateRuntimeContract(next, RUNTIME_CONTRACT_FILE);
  if (problems.length) throw new InputError(`the updated runtime contract would be invalid: ${problems.join('; ')}`, { file });
  await fsp.writeFile(file, formatRuntimeContract(next as any), 'utf8');
}
