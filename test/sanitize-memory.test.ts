/**
 * Memory is bounded by the largest output tensor, not the model: convert a generated MoE checkpoint
 * in a fresh process and compare its peak RSS with the largest tensor it writes.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateCheckpoint } from '../fixtures/generator/write-checkpoint';
import { Checkpoint } from '../src/safetensors/checkpoint';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-mem-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('peak RSS while converting a ~160 MB MoE checkpoint stays near its largest output tensor', async () => {
  const src = path.join(tmp, 'moe');
  const gen = await generateCheckpoint(src, { variant: 'qwen36-moe', seed: 7, targetBytes: 160e6, shards: 3 });
  const out = path.join(tmp, 'out');
  const stdout = execFileSync(
    process.execPath,
    ['-r', path.join(__dirname, 'support', 'ts-register.js'), path.join(__dirname, 'support', 'convert-peak-rss.ts'), src, out],
    { encoding: 'utf8' },
  );
  const r = JSON.parse(stdout);
  const ck = await Checkpoint.open(out);
  const largest = Math.max(...[...ck.tensors.values()].map((t) => t.byteLength));
  const total = [...ck.tensors.values()].reduce((a, t) => a + t.byteLength, 0);
  await ck.close();
  expect(total).toBeGreaterThan(gen.totalSize * 0.5);
  expect(total).toBeGreaterThan(8 * largest); // the check means something only if the model dwarfs a tensor
  const growth = r.peak - r.rssBefore;
  // Sources + output of one tensor (about 2x largest), the writer's 4 MiB buffer and allocator slack.
  expect(growth).toBeLessThan(4 * largest + 48 * 2 ** 20);
  expect(growth).toBeLessThan(total / 2);
}, 180000);
