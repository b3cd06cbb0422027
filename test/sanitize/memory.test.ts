/**
 * Memory is bounded by the largest tensor, not the model: convert two generated MoE checkpoints with the
 * same tensor sizes but 5x as many layers, each in a fresh process, and compare their peak RSS.
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

async function peakGrowth(layers: number): Promise<{ growth: number; largest: number; total: number }> {
  const src = path.join(tmp, `moe-${layers}`);
  await generateCheckpoint(src, { variant: 'qwen36-moe', seed: 7, scale: 6, layers, shards: 2 });
  const out = path.join(tmp, `out-${layers}`);
  const stdout = execFileSync(
    process.execPath,
    ['-r', path.join(__dirname, '..', 'support', 'ts-register.js'), path.join(__dirname, '..', 'support', 'convert-peak-rss.ts'), src, out],
    { encoding: 'utf8' },
  );
  const r = JSON.parse(stdout);
  const ck = await Checkpoint.open(out);
  const sizes = [...ck.tensors.values()].map((t) => t.byteLength);
  await ck.close();
  return { growth: r.peak - r.rssBefore, largest: Math.max(...sizes), total: sizes.reduce((a, b) => a + b, 0) };
}

test('peak RSS does not grow with the model: 3 vs 16 layers of the same MoE shape', async () => {
  const small = await peakGrowth(3);
  const big = await peakGrowth(16);
  expect(big.largest).toBe(small.largest);
  expect(big.total).toBeGreaterThan(4.5 * small.total);
  expect(big.total).toBeGreaterThan(30 * big.largest); // the model dwarfs one tensor
  // Five times the model: peak growth stays about the small run's (RSS varies with GC timing by some
  // tens of MiB, hence the slack; memory that grew with the model would add hundreds).
  expect(big.growth).toBeLessThan(1.3 * small.growth + 2 * big.largest + (16 << 20));
  // And far below the model itself: one tensor's sources and outputs plus fixed buffers (hash worker, writer).
  expect(big.growth).toBeLessThan(big.total / 2);
}, 180000);
