/**
 * Writes a smoke result into `mtplx_runtime.json` in MTPLX's vocabulary (mtp-runtime-contract §1-§5):
 * `exactness_baseline` (gate, status, prompts, max tokens, matches), `speed_evidence` (acceptance by
 * depth, AR / MTP tok/s, verdict), `verified_on` (engine, version, activation mode, CPU, threads) and the calibrated
 * wiring in `mtp_contract`. Only the contract changes, so the other files' recorded checksums hold.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { InputError } from '../errors';
import { formatRuntimeContract, RUNTIME_CONTRACT_FILE, validateRuntimeContract } from '../artifact/contract';
import { sha256File } from '../checksum/checksums';
import { collectEvidence, SMOKE_GATE, type GateEvidence } from '../artifact/contract-evidence';
import { toolInfo } from '../version';
import type { SmokeReport } from './run-smoke';

export { SMOKE_GATE };

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

/** `evidence`: what the result rests on (tool, measured status, checksums of the files it ran). */
export function contractWithSmoke(contract: Record<string, any>, r: SmokeReport, now = new Date(), evidence?: GateEvidence): Record<string, any> {
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
    ...(evidence ? { evidence } : {}),
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
    activations: r.engine.activations,
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

const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

/** The model card's Verification section: the measured figures and nothing else. */
export function smokeCardSection(r: SmokeReport, timestamp: string): string[] {
  const out = ['## Verification', ''];
  out.push(
    `\`mtpkit smoke\` (${r.engine.name} ${r.engine.version}, ${r.engine.activations} activations, ${r.engine.cpu}, ${r.engine.threads} thread(s), ${timestamp}): status \`${r.status}\`` +
      `${r.verdict ? `, speed verdict \`${r.verdict}\`` : ''}.`,
    '',
  );
  if (r.depths.length) {
    out.push(`Greedy decoding, prompts ${r.prompts.map((p) => `\`${p}\``).join(', ')}, ${r.maxTokens} tokens each; plain decoding ${r.arTokS.toFixed(1)} tok/s.`, '');
    out.push('| draft depth | identical to plain greedy | acceptance by position | tokens per cycle | MTP tok/s | vs plain |', '|---:|---|---|---:|---:|---:|');
    for (const d of r.depths) {
      out.push(`| ${d.depth} | ${d.identity ? 'yes' : `no (${d.matches}/${r.prompts.length})`} | ${d.acceptanceByPosition.map(pct).join(', ')} | ${d.meanAcceptedLength.toFixed(2)} | ${d.mtpTokS.toFixed(1)} | ${d.speedup.toFixed(2)}x |`);
    }
    out.push('');
  }
  if (r.wiring) {
    out.push(`Wiring measured best: trunk hidden \`${r.wiring.best.base_hidden_variant}\`, concat order \`${r.wiring.best.concat_order}\` (recorded in \`mtp_contract\`).`, '');
    for (const w of r.wiring.warnings) out.push(`- Wiring: ${w}.`);
    if (r.wiring.warnings.length) out.push('');
  }
  for (const reason of r.reasons) out.push(`- ${reason}`);
  if (r.reasons.length) out.push('');
  return out;
}

/** Replaces the card's Verification section (up to the next `## `) and returns its new checksum. */
async function updateCard(dir: string, section: string[]): Promise<{ size: number; sha256: string } | undefined> {
  const file = path.join(dir, 'README.md');
  const text = await fsp.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const start = text.indexOf('## Verification');
  if (start < 0) return undefined;
  const next = text.indexOf('\n## ', start + 1);
  const updated = text.slice(0, start) + section.join('\n') + (next >= 0 ? text.slice(next + 1) : '');
  await fsp.writeFile(file, updated, 'utf8');
  return sha256File(file);
}

/** Reads, updates, validates and rewrites the artifact's contract (and the card's Verification section). */
export async function writeSmokeContract(dir: string, r: SmokeReport, now = new Date()): Promise<void> {
  const file = path.join(dir, RUNTIME_CONTRACT_FILE);
  const text = await fsp.readFile(file, 'utf8').catch(() => {
    throw new InputError(`missing: the smoke result is recorded in the runtime contract`, { file });
  });
  const tool = toolInfo();
  const evidence = await collectEvidence(dir, `${tool.name} ${tool.version}`, r.status, sha256File);
  const next = contractWithSmoke(JSON.parse(text), r, now, evidence);
  const card = await updateCard(dir, smokeCardSection(r, now.toISOString()));
  const recorded: { file: string; size: number; sha256: string }[] | undefined = next.mtpkit_provenance?.output_checksums;
  const entry = recorded?.find((c) => c.file === 'README.md');
  // The card changed on purpose: its recorded checksum follows, every other file's stays as written.
  if (card && entry) Object.assign(entry, card);
  const problems = validateRuntimeContract(next, RUNTIME_CONTRACT_FILE);
  if (problems.length) throw new InputError(`the updated runtime contract would be invalid: ${problems.join('; ')}`, { file });
  await fsp.writeFile(file, formatRuntimeContract(next as any), 'utf8');
}
