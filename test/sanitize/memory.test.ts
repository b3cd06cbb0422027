/**
 * Memory is bounded by the largest tensor, not the model: convert two generated MoE checkpoints with the
 * same tensor sizes but 5x as many layers, each in a fresh process, and compare their peak RSS.
 *
 * Why this once failed beside the other jest workers and passed alone: the child loads src/ through
 * ts-register, whose transpile cache (os.tmpdir()) is cold in a fresh run. The first child then loads the
 * TypeScript compiler: its RSS before converting was ~175 MiB instead of ~56, V8 reclaimed part of that
 * during the conversion, and the small model's growth read ~25 MiB instead of ~45, leaving the 16-layer
 * run (~51 MiB) a margin of a few MiB, which load then ate. Run alone afterwards, the suite had warmed the
 * cache. So a discarded warm-up conversion fills the cache first, and the probe measures the conversion's
 * own peak (high-water mark reset after loading; see convert-peak-rss.ts), not the loading spike, which
 * also grows under load.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateCheckpoint } from '../../fixtures/generator/write-checkpoint';
import { Checkpoint } from '../../src/safetensors/checkpoint';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-mem-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function probe(src: string, out: string): { rssBefore: number; peak: number } {
  const stdout = execFileSync(
    process.execPath,
    ['--expose-gc', '-r', path.join(__dirname, '..', 'support', 'ts-register.js'), path.join(__dirname, '..', 'support', 'convert-peak-rss.ts'), src, out],
    { encoding: 'utf8' },
  );
  return JSON.parse(stdout);
}

async function peakGrowth(layers: number, warmUp = false): Promise<{ growth: number; before: number; largest: number; total: number }> {
  const src = path.join(tmp, `moe-${layers}`);
  await generateCheckpoint(src, { variant: 'qwen36-moe', seed: 7, scale: 6, layers, shards: 2 });
  const out = path.join(tmp, `out-${layers}`);
  if (warmUp) probe(src, out); // fills the transpile cache: the measured runs load no compiler
  const r = probe(src, out);
  const ck = await Checkpoint.open(out);
  const sizes = [...ck.tensors.values()].map((t) => t.byteLength);
  await ck.close();
  return { growth: r.peak - r.rssBefore, before: r.rssBefore, largest: Math.max(...sizes), total: sizes.reduce((a, b) => a + b, 0) };
}

test('peak RSS does not grow with the model: 3 vs 16 layers of the same MoE shape', async () => {
  const small = await peakGrowth(3, true);
  const big = await peakGrowth(16);
  // Both start from the same baseline (no compiler loaded in one of them), so their growths compare.
  expect(Math.abs(big.before - small.before)).toBeLessThan(16 << 20);
  expect(big.largest).toBe(small.largest);
  expect(big.total).toBeGreaterThan(4.5 * small.total);
  expect(big.total).toBeGreaterThan(30 * big.largest); // the model dwarfs one tensor
  // Five times the model: peak growth stays about the small run's (RSS varies with GC timing by some
  // tens of MiB, hence the slack; memory that grew with the model would add hundreds).
  expect(big.growth).toBeLessThan(1.3 * small.growth + 2 * big.largest + (16 << 20));
  // And far below the model itself: one tensor's sources and outputs plus fixed buffers (hash worker, writer).
  expect(big.growth).toBeLessThan(big.total / 2);
}, 180000);
