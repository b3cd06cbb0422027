/**
 * The native engine against the independent float64 reference (test/reference), for every fixture variant
 * times every weight format of test/support/format-artifacts.ts times both activation modes (the full
 * matrix; native q8 against reference q8, native f32 against reference f32):
 *  - trunk logits, hidden before and after the final norm, at every position of a prefill and of a verify
 *    batch that follows it, and after a rollback into that batch, with the kernels this machine selects
 *    (AVX2 on x86-64) and with the portable scalar ones;
 *  - the MTP head's logits and output hidden, fed with the post-norm and with the pre-norm trunk hidden;
 *  - greedy continuations of 16 tokens, token for token.
 *
 * Tolerance: per row, max |Δ| / max |reference| < 2e-5. Both engines use the same dequantized weight
 * values (fp32 `s·q + b`); what remains is fp32 vs float64 arithmetic and summation order, measured at
 * ≤ 2.1e-6 over the whole matrix (fp32 round-off, ≤ 256 terms per sum, 4 layers + MTP). 2e-5 leaves 10×
 * for reordered sums (SIMD kernels, s·Σq·x + b·Σx per group) and is 10× below the smallest semantic
 * slip tried: the GDN q/k eps added to the sum instead of the mean of squares (HF's form instead of
 * mlx-lm's) moves the logits by 2.2e-4..1.4e-3; a RoPE sign error by 4e-2..9e-2.
 * Greedy: tokens must be identical; the one allowed difference is a near-tie, where the reference's two
 * best logits are within the tolerance of each other (then the argmax is not determined by the math).
 */
import type { ForwardResult, InferenceModel, InferenceSession } from '../../src/runtime/engine/types';
import { loadPair, type EnginePair } from './engine-pair';
import { ACTIVATION_MODES, type ActivationMode } from '../../src/runtime/engine/activations';
import { kernelIsa, setScalarKernels } from '../../src/runtime/engine/kernels';
import { rowRelErr } from '../support/rel-err';
import { FIXTURE_VARIANTS, WEIGHT_FORMATS, formatArtifact, type FixtureVariant, type WeightFormat } from '../support/format-artifacts';

const TOL = 2e-5;
const PROMPT = [11, 250, 3, 97, 300, 42, 7, 128, 64, 5, 201];
const VERIFY = [17, 350, 2, 99];
const GREEDY = 16;
/** The kernels this machine selects, and the portable fallback (both must agree with the reference). */
const DEFAULT_ISA = kernelIsa();
const ISAS = DEFAULT_ISA === 'scalar' ? ['scalar'] : [DEFAULT_ISA, 'scalar'];

function top2(x: Float32Array): { best: number; margin: number; scale: number } {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  let second = -Infinity;
  let scale = 0;
  for (let i = 0; i < x.length; i++) {
    if (i !== best) second = Math.max(second, x[i]);
    scale = Math.max(scale, Math.abs(x[i]));
  }
  return { best, margin: x[best] - second, scale };
}

/** Greedy tokens and, per step, the logits the token came from. */
async function greedy(s: InferenceSession): Promise<{ tokens: number[]; logits: Float32Array[] }> {
  s.reset();
  let logits = (await s.forward(PROMPT, { logits: 'last' })).logits;
  const tokens: number[] = [];
  const all: Float32Array[] = [];
  for (let i = 0; i < GREEDY; i++) {
    all.push(logits);
    tokens.push(top2(logits).best);
    logits = (await s.forward([tokens[i]], { logits: 'last' })).logits;
  }
  return { tokens, logits: all };
}

const worst = new Map<string, number>();
const nearTies: string[] = [];
afterAll(() => {
  const lines = [...worst].map(([k, v]) => `${k}: ${v.toExponential(2)}`);
  console.log(`native vs reference, worst relative error per variant/format:\n${lines.join('\n')}${nearTies.length ? `\nnear-ties: ${nearTies.join(', ')}` : ''}`);
});

function check(label: string, what: string, err: number): void {
  worst.set(label, Math.max(worst.get(label) ?? 0, err));
  if (!(err < TOL)) throw new Error(`${label}: ${what}: max|Δ|/max|ref| = ${err.toExponential(3)} ≥ ${TOL}`);
}

function compareForward(label: string, step: string, a: ForwardResult, b: ForwardResult, vocab: number, hidden: number): void {
  check(label, `${step} logits`, rowRelErr(a.logits, b.logits, vocab));
  check(label, `${step} hiddenPre`, rowRelErr(a.hiddenPre, b.hiddenPre, hidden));
  check(label, `${step} hiddenPost`, rowRelErr(a.hiddenPost, b.hiddenPost, hidden));
}

/** Trunk rows of a prefill, a verify batch and a forward after rollback; the MTP head on pre- and post-norm hidden. */
async function trunkAndHead(native: InferenceModel, ref: InferenceModel, label: string): Promise<void> {
  expect(native.info.vocabSize).toBe(ref.info.vocabSize);
  expect(native.info.hasMtp).toBe(ref.info.hasMtp);
  expect(native.info.tieWordEmbeddings).toBe(ref.info.tieWordEmbeddings);
  const V = ref.info.vocabSize;
  const H = ref.info.hiddenSize;
  const sn = native.newSession();
  const sr = ref.newSession();
  const pn = await sn.forward(PROMPT);
  const pr = await sr.forward(PROMPT);
  compareForward(label, 'prefill', pn, pr, V, H);
  compareForward(label, 'verify', await sn.forward(VERIFY), await sr.forward(VERIFY), V, H);
  sn.rollback(PROMPT.length + 1);
  sr.rollback(PROMPT.length + 1);
  compareForward(label, 'after rollback', await sn.forward([77, 78]), await sr.forward([77, 78]), V, H);

  if (!ref.info.hasMtp) return;
  // Slot i pairs trunk hidden i with token i + 1; the same input rows go to both heads.
  const n = PROMPT.length - 1;
  for (const [variantName, hidden] of [['post-norm', pn.hiddenPost], ['pre-norm', pn.hiddenPre]] as const) {
    sn.mtpRollback(0);
    sr.mtpRollback(0);
    const rows = hidden.slice(0, n * H);
    const mn = await sn.mtpForward(rows, PROMPT.slice(1));
    const mr = await sr.mtpForward(rows, PROMPT.slice(1));
    check(label, `MTP (${variantName} hidden) logits`, rowRelErr(mn.logits, mr.logits, V));
    check(label, `MTP (${variantName} hidden) output hidden`, rowRelErr(mn.hidden, mr.hidden, H));
    // Chained depth 2: the head's own output hidden fed back with a draft token.
    const cn = await sn.mtpForward(mr.hidden.slice((n - 1) * H), [9]);
    const cr = await sr.mtpForward(mr.hidden.slice((n - 1) * H), [9]);
    check(label, `MTP chained (${variantName}) logits`, rowRelErr(cn.logits, cr.logits, V));
  }
}

const CASES: [FixtureVariant, string, ActivationMode][] = FIXTURE_VARIANTS.flatMap((v) =>
  WEIGHT_FORMATS.flatMap((f) => ACTIVATION_MODES.map((m) => [v, f.id, m] as [FixtureVariant, string, ActivationMode])),
);

describe.each(CASES)('%s %s, %s activations', (variant, formatId, mode) => {
  const format = WEIGHT_FORMATS.find((f) => f.id === formatId) as WeightFormat;
  const label = `${variant} ${format.id} (${format.mtpLayout}) ${mode}`;
  let pair: EnginePair;
  let native: InferenceModel;
  let ref: InferenceModel;
  beforeAll(async () => {
    pair = await loadPair(await formatArtifact(variant, format), mode);
    ({ native, ref } = pair);
  });
  afterAll(() => pair?.close());

  test.each(ISAS)(`${format.id}: trunk at every position (prefill, verify batch, after rollback) and the MTP head, %s kernels`, async (isa) => {
    setScalarKernels(isa === 'scalar');
    try {
      await trunkAndHead(native, ref, `${label} [${isa} kernels]`);
    } finally {
      setScalarKernels(DEFAULT_ISA === 'scalar');
    }
  });

  test(`${format.id}: greedy continuation of ${GREEDY} tokens is token-identical`, async () => {
    const a = await greedy(native.newSession());
    const b = await greedy(ref.newSession());
    for (let i = 0; i < GREEDY; i++) {
      if (a.tokens[i] === b.tokens[i]) continue;
      const t = top2(b.logits[i]);
      if (t.margin >= TOL * t.scale) {
        throw new Error(`${label}: greedy step ${i}: native ${a.tokens[i]} vs reference ${b.tokens[i]} (reference margin ${t.margin.toExponential(2)}, not a near-tie)`);
      }
      nearTies.push(`${label} step ${i}`);
      break; // past a legitimate near-tie the two continuations are different inputs
    }
  });
});
