/**
 * Peak memory of a conversion against model size: checkpoints of different sizes with the SAME hidden
 * width (so the same largest tensor) and more layers for the bigger ones, each converted in a fresh
 * child process. If memory is bounded by one tensor, the peak growth stays the same as the model grows.
 * Run: node dist/bench/convert-memory.js [--sizes 1e9,4e9] [--policy gdn8-speed4] [--keep] [--json]
 *        (MTPKIT_BENCH_MEMORY_SIZES also sets the sizes)
 */
import * as path from 'path';
import { generateCheckpoint } from '../fixtures/generator/write-checkpoint';
import { checkpointBytes, scaledVariant, variantForTargetBytes } from '../fixtures/generator/scale';
import { getVariant, type VariantName, type VariantSpec } from '../fixtures/generator/variants';
import { hasFlag, optionValue, parseBytes } from './support/cli-args';
import { planFacts, type PlanFacts } from './support/plan-facts';
import { QUANT_UNAVAILABLE, runProbe } from './support/run-probe';
import { folderBytes, makeScratchDir, removeDir, requireFreeSpace } from './support/scratch';

export interface MemoryOptions {
  /** Target tensor bytes of each checkpoint; default [1e9, 4e9]. The smallest fixes the hidden width. */
  sizes?: number[];
  /** Default gdn8-speed4; falls back to none while quantization is unavailable. */
  policy?: string;
  variant?: VariantName;
  seed?: number;
  keep?: boolean;
  log?: (line: string) => void;
}

export interface MemoryRow {
  targetBytes: number;
  hidden: number;
  layers: number;
  /** Bytes of the input shard files. */
  inputBytes: number;
  /** The policy actually run (the requested one, or `none` as a fallback). */
  policy: string;
  fallbackReason?: string;
  ok: boolean;
  error?: string;
  outputBytes?: number;
  seconds?: number;
  /** RSS when the conversion starts (node + modules loaded), bytes. */
  rssBefore?: number;
  /** Peak RSS of the child (getrusage maxRSS), bytes. */
  peakRss?: number;
  /** peakRss - rssBefore */
  peakGrowth?: number;
  largestInputTensor: PlanFacts['largestInputTensor'];
  largestOutputTensor: PlanFacts['largestOutputTensor'];
  largestOutputUnit: PlanFacts['largestOutputUnit'];
  /** peakGrowth / max(largest input tensor, largest output unit). */
  growthPerLargestTensor?: number;
}

export interface MemoryResult {
  variant: VariantName;
  requestedPolicy: string;
  rows: MemoryRow[];
  /** peakGrowth of the biggest model / of the smallest (about 1 when memory does not grow with the model). */
  growthRatioBiggestToSmallest?: number;
  scratchDir?: string;
}

/** Layer count giving about `targetBytes` at the hidden width of `base` scaled by `scale` (bytes are linear in layers per 4-layer period). */
function layersFor(base: VariantSpec, scale: number, targetBytes: number): number {
  const bytesAt = (layers: number) => checkpointBytes(scaledVariant(base, scale, layers));
  const period = base.dims.fullInterval;
  const perPeriod = bytesAt(2 * period) - bytesAt(period);
  const fixed = bytesAt(period) - perPeriod;
  let best = period;
  let bestErr = Infinity;
  // Whole periods (3 GDN + 1 full attention layer), like the real models.
  for (let periods = 1; periods <= Math.ceil((targetBytes - fixed) / perPeriod) + 1; periods++) {
    const err = Math.abs(bytesAt(periods * period) - targetBytes);
    if (err < bestErr) [best, bestErr] = [periods * period, err];
  }
  return best;
}

export async function run(opts: MemoryOptions = {}): Promise<MemoryResult> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`[memory] ${l}\n`));
  const sizes = [...(opts.sizes ?? [1e9, 4e9])].sort((a, b) => a - b);
  const variant = opts.variant ?? 'qwen35-dense';
  const requested = opts.policy ?? 'gdn8-speed4';
  const base = getVariant(variant);
  // The smallest size picks the hidden width (27B-like depth/width); bigger sizes only add layers.
  const hidden = variantForTargetBytes(base, sizes[0]).dims.hidden;
  const scale = hidden / base.dims.hidden;
  const scratch = await makeScratchDir('memory');
  const rows: MemoryRow[] = [];
  try {
    for (const target of sizes) {
      const layers = layersFor(base, scale, target);
      const input = path.join(scratch, `input-${target}`);
      const out = path.join(scratch, `out-${target}`);
      // Input + an output at most about the input's size (policy none).
      await requireFreeSpace(scratch, 2.1 * target, `the memory bench (${(target / 1e9).toFixed(1)} GB)`);
      log(`generating ${variant} H=${hidden} layers=${layers} (~${(target / 1e9).toFixed(2)} GB)`);
      const gen = await generateCheckpoint(input, { variant, seed: opts.seed ?? 2, scale, layers });
      if (gen.dims.hidden !== hidden) throw new Error(`generator gave H=${gen.dims.hidden}, expected ${hidden}`);
      const inputBytes = await folderBytes(input);

      let policy = requested;
      let fallbackReason: string | undefined;
      let r = await runProbe({ source: input, out, policy });
      if (!r.ok && QUANT_UNAVAILABLE.test(r.error) && policy !== 'none') {
        fallbackReason = r.error;
        policy = 'none';
        log(`${requested} unavailable (${r.error}); falling back to none`);
        r = await runProbe({ source: input, out, policy });
      }
      const facts = await planFacts(input, policy);
      const row: MemoryRow = {
        targetBytes: target,
        hidden,
        layers,
        inputBytes,
        policy,
        fallbackReason,
        ok: r.ok,
        largestInputTensor: facts.largestInputTensor,
        largestOutputTensor: facts.largestOutputTensor,
        largestOutputUnit: facts.largestOutputUnit,
      };
      if (r.ok) {
        const growth = r.peakRss - r.rssBefore;
        Object.assign(row, {
          outputBytes: await folderBytes(out),
          seconds: r.seconds,
          rssBefore: r.rssBefore,
          peakRss: r.peakRss,
          peakGrowth: growth,
          growthPerLargestTensor: growth / Math.max(facts.largestInputTensor.bytes, facts.largestOutputUnit.bytes),
        });
        log(`${(inputBytes / 1e9).toFixed(2)} GB ${policy}: peak ${(r.peakRss / 2 ** 20).toFixed(0)} MiB, growth ${(growth / 2 ** 20).toFixed(0)} MiB`);
      } else {
        row.error = r.error;
        log(`${(inputBytes / 1e9).toFixed(2)} GB ${policy}: FAILED: ${r.error}`);
      }
      rows.push(row);
      if (!opts.keep) {
        await removeDir(input);
        await removeDir(out);
      }
    }
  } finally {
    if (!opts.keep) await removeDir(scratch);
  }
  const first = rows[0];
  const last = rows[rows.length - 1];
  const ratio = rows.length > 1 && first.peakGrowth && last.peakGrowth !== undefined ? last.peakGrowth / first.peakGrowth : undefined;
  return { variant, requestedPolicy: requested, rows, growthRatioBiggestToSmallest: ratio, scratchDir: opts.keep ? scratch : undefined };
}

const mib = (b: number | undefined) => (b === undefined ? '-' : (b / 2 ** 20).toFixed(0));

export function formatMemory(r: MemoryResult): string {
  const lines = [
    `convert peak memory: ${r.variant}, policy ${r.requestedPolicy}, one fresh child process per conversion (MiB = 2^20 bytes)`,
    '  input GB   H  layers  policy       out GB  convert s  RSS before  peak RSS  growth  largest in / out tensor  growth/largest',
  ];
  for (const x of r.rows) {
    const head = `  ${(x.inputBytes / 1e9).toFixed(2).padStart(8)}  ${String(x.hidden).padStart(4)}  ${String(x.layers).padStart(6)}  ${x.policy.padEnd(11)}`;
    if (!x.ok) {
      lines.push(`${head}  FAILED: ${x.error}`);
      continue;
    }
    lines.push(
      `${head}  ${((x.outputBytes ?? 0) / 1e9).toFixed(2).padStart(6)}  ${(x.seconds ?? 0).toFixed(1).padStart(9)}  ${mib(x.rssBefore).padStart(10)}` +
        `  ${mib(x.peakRss).padStart(8)}  ${mib(x.peakGrowth).padStart(6)}  ${`${mib(x.largestInputTensor.bytes)} / ${mib(x.largestOutputUnit.bytes)}`.padStart(23)}` +
        `  ${(x.growthPerLargestTensor ?? 0).toFixed(2).padStart(14)}`,
    );
  }
  const ok = r.rows.find((x) => x.ok);
  if (ok) {
    lines.push(`  largest input tensor: ${ok.largestInputTensor.name}; largest output (weight+scales+biases): ${ok.largestOutputUnit.name}` +
      ` (largest single stored tensor ${mib(ok.largestOutputTensor.bytes)} MiB: ${ok.largestOutputTensor.name})`);
  }
  for (const x of r.rows) if (x.fallbackReason) lines.push(`  ${(x.inputBytes / 1e9).toFixed(2)} GB: fell back to none: ${x.fallbackReason}`);
  if (r.growthRatioBiggestToSmallest !== undefined) {
    lines.push(`  peak growth, biggest / smallest model: ${r.growthRatioBiggestToSmallest.toFixed(2)} (about 1: memory does not grow with the model)`);
  }
  if (r.scratchDir) lines.push(`  kept: ${r.scratchDir}`);
  return lines.join('\n');
}

export function parseSizes(v: string | undefined): number[] | undefined {
  if (v === undefined || v === '') return undefined;
  return v.split(',').map((s) => parseBytes(s, '--sizes'));
}

if (require.main === module) {
  const args = process.argv.slice(2);
  run({
    sizes: parseSizes(optionValue(args, 'sizes') ?? process.env.MTPKIT_BENCH_MEMORY_SIZES),
    policy: optionValue(args, 'policy'),
    keep: hasFlag(args, 'keep'),
  }).then(
    (r) => console.log(hasFlag(args, 'json') ? JSON.stringify(r, null, 2) : formatMemory(r)),
    (e) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
