/**
 * `runSmoke`: proves an MTP artifact works on this CPU. Head audit first; then, on a prompt set:
 * plain greedy decoding (the reference and the AR speed), a wiring calibration (acceptance at depth 1
 * with the pre- and post-final-norm trunk hidden, under both concat orders), and for each depth greedy
 * speculative decoding with the best wiring: token identity with plain greedy on every prompt,
 * per-position acceptance, tokens per cycle, the histogram of accepted drafts, MTP tok/s.
 * Collapse follows MTPLX Forge: the best per-position acceptance <= 0.05 (mtp-runtime-contract §5).
 */
import * as os from 'os';
import { promises as fsp } from 'fs';
import { InputError } from '../errors';
import type { InferenceModel } from '../runtime/engine/types';
import { loadModel } from '../runtime/engine/load-model';
import { resolveActivations, type ActivationMode } from '../runtime/engine/activations';
import { decodePlain } from '../speculative/plain-decode';
import { decodeSpeculative, type HiddenVariant } from '../speculative/speculative-decode';
import { auditHead, type HeadAudit } from './head-audit';
import { swappedConcatOverlay } from './concat-overlay';
import { smokePrompts, type SmokePrompt } from './prompts';
import { readStatedWiring, type ConcatOrder, type Wiring } from './wiring';

export const ACCEPTANCE_COLLAPSE_THRESHOLD = 0.05;

export type SmokeStatus = 'passed' | 'fail_head_audit' | 'fail_exactness' | 'fail_acceptance_collapsed';

export interface SmokeOptions {
  depths?: number[];
  maxTokens?: number;
  threads?: number;
  /** Engine activation mode (default: MTPKIT_ACTIVATIONS or q8). */
  activations?: ActivationMode;
  promptFile?: string;
  /** Tokens per prompt for the wiring calibration (default min(maxTokens, 32)). */
  calibrationTokens?: number;
  /** Engine factory (default: the native CPU engine). */
  load?: (dir: string, threads: number, activations: ActivationMode) => Promise<InferenceModel>;
  /** Name of the engine for `verified_on` (default mtpkit's native CPU engine). */
  engineName?: string;
}

export interface DepthResult {
  depth: number;
  identity: boolean;
  /** Prompts whose MTP output equals plain greedy. */
  matches: number;
  acceptanceByPosition: number[];
  draftAcceptance: number;
  meanAcceptedLength: number;
  histogram: number[];
  mtpTokS: number;
  speedup: number;
  collapsed: boolean;
  /** First mismatch, for the report. */
  mismatch?: { prompt: string; index: number; expected: number; got: number };
}

export interface WiringCandidate extends Wiring {
  /** Accepted / drafted at depth 1 over the calibration prompts. */
  acceptance: number;
}

export interface SmokeReport {
  artifact: string;
  status: SmokeStatus;
  exitCode: 0 | 1;
  reasons: string[];
  audit: HeadAudit;
  wiring?: { stated: Wiring; best: Wiring; candidates: WiringCandidate[]; warnings: string[] };
  prompts: string[];
  maxTokens: number;
  arTokS: number;
  depths: DepthResult[];
  verdict?: 'mtp_depth_wins' | 'no_mtp_depth_beat_ar' | 'mtp_acceptance_collapsed';
  engine: { name: string; version: string; cpu: string; threads: number; activations: ActivationMode; platform: string; arch: string };
  seconds: number;
}

const RUNNABLE_BLOCKERS = new Set(['mtp_missing', 'mtp_partial', 'mtp_key_set']);

function tokS(tokens: number, ms: number): number {
  return ms > 0 ? (tokens * 1000) / ms : 0;
}

async function calibrate(model: InferenceModel, prompts: SmokePrompt[], hv: HiddenVariant, maxTokens: number, eos: number[]): Promise<number> {
  const s = model.newSession();
  let drafted = 0;
  let accepted = 0;
  for (const p of prompts) {
    const r = await decodeSpeculative(s, p.ids, { maxTokens, depth: 1, hiddenVariant: hv, eosTokenIds: eos });
    drafted += r.metrics.drafted;
    accepted += r.metrics.accepted;
  }
  return drafted ? accepted / drafted : 0;
}

export async function runSmoke(artifact: string, opts: SmokeOptions = {}): Promise<SmokeReport> {
  const t0 = performance.now();
  const depths = opts.depths ?? [1, 2, 3];
  if (!depths.length || depths.some((d) => !Number.isInteger(d) || d < 1 || d > 7)) throw new InputError(`depths must be integers from 1 to 7, got ${depths.join(',')}`, { field: 'depths' });
  const maxTokens = opts.maxTokens ?? 64;
  if (!Number.isInteger(maxTokens) || maxTokens < 2) throw new InputError(`max tokens must be an integer >= 2, got ${maxTokens}`, { field: 'max-tokens' });
  const threads = opts.threads ?? Math.max(1, os.cpus().length);
  const activations = resolveActivations(opts.activations);
  const load = opts.load ?? ((dir: string, th: number, act: ActivationMode) => loadModel(dir, { threads: th, activations: act }));
  const { toolInfo } = await import('../version');
  const tool = toolInfo();
  const engine = {
    name: opts.engineName ?? `${tool.name} native CPU engine`,
    version: tool.version,
    cpu: os.cpus()[0]?.model?.trim() ?? 'unknown CPU',
    threads,
    activations,
    platform: os.platform(),
    arch: os.arch(),
  };
  const reasons: string[] = [];
  const audit = await auditHead(artifact);
  for (const f of audit.findings) reasons.push(`head audit: ${f.message}`);
  const base = { artifact, audit, maxTokens, engine, depths: [] as DepthResult[], arTokS: 0, prompts: [] as string[] };
  if (audit.findings.some((f) => RUNNABLE_BLOCKERS.has(f.defect))) {
    return { ...base, status: 'fail_head_audit', exitCode: 1, reasons, seconds: (performance.now() - t0) / 1000 };
  }

  const { prompts, eosTokenIds } = await smokePrompts(artifact, opts.promptFile);
  const stated = await readStatedWiring(artifact);
  const model = await load(artifact, threads, activations);
  let overlayDir: string | undefined;
  let overlay: InferenceModel | undefined;
  try {
    // Reference: plain greedy decoding, and the AR speed.
    const session = model.newSession();
    const reference: number[][] = [];
    let arTokens = 0;
    let arMs = 0;
    for (const p of prompts) {
      const r = await decodePlain(session, p.ids, { maxTokens, eosTokenIds });
      reference.push(r.tokens);
      arTokens += r.tokens.length - 1;
      arMs += r.decodeMs;
    }
    const arTokS = tokS(arTokens, arMs);

    // Wiring calibration.
    const calTokens = opts.calibrationTokens ?? Math.min(maxTokens, 32);
    overlayDir = await swappedConcatOverlay(artifact);
    if (overlayDir) overlay = await load(overlayDir, threads, activations);
    const other: ConcatOrder = stated.concat_order === 'embedding_hidden' ? 'hidden_embedding' : 'embedding_hidden';
    // The engine computes fc([e, h]); the swapped-halves overlay reads as fc([h, e]).
    const modelFor = (order: ConcatOrder) => (order === 'embedding_hidden' ? model : overlay);
    const candidates: WiringCandidate[] = [];
    for (const order of [stated.concat_order, other]) {
      const m = modelFor(order);
      if (!m) continue;
      for (const hv of [stated.base_hidden_variant, stated.base_hidden_variant === 'post_norm' ? 'pre_norm' : 'post_norm'] as HiddenVariant[]) {
        candidates.push({ base_hidden_variant: hv, concat_order: order, acceptance: await calibrate(m, prompts, hv, calTokens, eosTokenIds) });
      }
    }
    // Ties keep the stated wiring (listed first).
    const best = candidates.reduce((a, b) => (b.acceptance > a.acceptance ? b : a));
    const warnings: string[] = [];
    const statedAcc = candidates[0].acceptance;
    if (best.base_hidden_variant !== stated.base_hidden_variant || best.concat_order !== stated.concat_order) {
      warnings.push(
        `the stated wiring (base_hidden_variant ${stated.base_hidden_variant}, concat_order ${stated.concat_order}) is not the best: ` +
          `${best.base_hidden_variant} / ${best.concat_order} accepts ${best.acceptance.toFixed(3)} vs ${statedAcc.toFixed(3)} at depth 1`,
      );
    }
    const runModel = modelFor(best.concat_order)!;

    // Depths with the best wiring.
    const results: DepthResult[] = [];
    const mSession = runModel.newSession();
    for (const depth of depths) {
      const hist = new Array<number>(depth + 1).fill(0);
      let matches = 0;
      let mtpTokens = 0;
      let mtpMs = 0;
      let mismatch: DepthResult['mismatch'];
      for (let i = 0; i < prompts.length; i++) {
        const r = await decodeSpeculative(mSession, prompts[i].ids, { maxTokens, depth, hiddenVariant: best.base_hidden_variant, eosTokenIds });
        r.metrics.histogram.forEach((n, j) => (hist[j] += n));
        mtpTokens += r.tokens.length - 1;
        mtpMs += r.decodeMs;
        const ref = reference[i];
        const same = r.tokens.length === ref.length && r.tokens.every((t, j) => t === ref[j]);
        if (same) matches++;
        else if (!mismatch) {
          const j = r.tokens.findIndex((t, k) => t !== ref[k]);
          const index = j < 0 ? Math.min(r.tokens.length, ref.length) : j;
          mismatch = { prompt: prompts[i].name, index, expected: ref[index] ?? -1, got: r.tokens[index] ?? -1 };
        }
      }
      const cycles = hist.reduce((a, b) => a + b, 0);
      const accepted = hist.reduce((a, n, j) => a + n * j, 0);
      const byPos = Array.from({ length: depth }, (_, i) => (cycles ? hist.slice(i + 1).reduce((a, b) => a + b, 0) / cycles : 0));
      const mtpTokS = tokS(mtpTokens, mtpMs);
      results.push({
        depth,
        identity: matches === prompts.length,
        matches,
        acceptanceByPosition: byPos,
        draftAcceptance: cycles ? accepted / (cycles * depth) : 0,
        meanAcceptedLength: cycles ? (cycles + accepted) / cycles : 0,
        histogram: hist,
        mtpTokS,
        speedup: arTokS > 0 ? mtpTokS / arTokS : 0,
        collapsed: Math.max(...byPos) <= ACCEPTANCE_COLLAPSE_THRESHOLD,
        ...(mismatch ? { mismatch } : {}),
      });
    }

    for (const d of results) {
      if (!d.identity) reasons.push(`depth ${d.depth}: MTP output differs from plain greedy on ${prompts.length - d.matches} of ${prompts.length} prompts (first at token ${d.mismatch!.index} of '${d.mismatch!.prompt}': expected ${d.mismatch!.expected}, got ${d.mismatch!.got})`);
    }
    const collapsed = results.every((d) => d.collapsed);
    if (collapsed) {
      const why = audit.ok ? 'no wiring gives an agreement signal: the head probably does not belong to this trunk (grafted from a different model?)' : 'see the head audit';
      reasons.push(`acceptance collapsed: best per-position acceptance <= ${ACCEPTANCE_COLLAPSE_THRESHOLD} at every depth; ${why}`);
    }
    const status: SmokeStatus = !audit.ok ? 'fail_head_audit' : results.some((d) => !d.identity) ? 'fail_exactness' : collapsed ? 'fail_acceptance_collapsed' : 'passed';
    const bestSpeed = Math.max(...results.map((d) => d.mtpTokS));
    const verdict = collapsed ? 'mtp_acceptance_collapsed' : bestSpeed > arTokS ? 'mtp_depth_wins' : 'no_mtp_depth_beat_ar';
    return {
      ...base,
      status,
      exitCode: status === 'passed' ? 0 : 1,
      reasons,
      wiring: { stated, best: { base_hidden_variant: best.base_hidden_variant, concat_order: best.concat_order }, candidates, warnings },
      prompts: prompts.map((p) => p.name),
      arTokS,
      depths: results,
      verdict,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    model.close();
    overlay?.close();
    if (overlayDir) await fsp.rm(overlayDir, { recursive: true, force: true });
  }
}
