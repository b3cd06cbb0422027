/** `mtpkit plan` on a 27B-shaped checkpoint (real headers, sparse data) shows gdn8-speed4's layout. */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runCli } from '../support/run-cli';
import { QWEN36_27B, writeSparseCheckpoint } from '../support/sparse-checkpoint';

let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-27b-'));
  await writeSparseCheckpoint(path.join(dir, 'q27'), 'qwen35-dense', QWEN36_27B, 15);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('gdn8-speed4 on the 27B layout: 240 GDN linears at 8 bits, the rest 4 bits, MTP head body-int4', async () => {
  const r = await runCli(['plan', path.join(dir, 'q27'), '--policy', 'gdn8-speed4', '--json']);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.stdout);
  const rows: any[] = j.tensors;
  const by = (pred: (t: any) => boolean) => rows.filter(pred);
  const gdn = by((t) => t.role === 'gdn');
  expect(gdn).toHaveLength(48 * 5);
  expect(new Set(gdn.map((t) => t.decision))).toEqual(new Set(['affine 8-bit g64']));
  for (const role of ['attention', 'mlp', 'embedding', 'lm_head']) {
    const rs = by((t) => t.role === role && t.group === 'trunk');
    expect(rs.length).toBeGreaterThan(0);
    expect(new Set(rs.map((t) => t.decision))).toEqual(new Set(['affine 4-bit g64']));
  }
  for (const role of ['norm', 'conv', 'gdn_param']) {
    expect(by((t) => t.role === role).every((t) => t.decision.startsWith('keep'))).toBe(true);
  }
  // Every row names the rule that decided it.
  expect(rows.every((t) => typeof t.rule === 'string' && t.rule.length > 0)).toBe(true);
  const mtp = by((t) => t.group === 'mtp');
  expect(mtp).toHaveLength(15);
  expect(mtp.filter((t) => t.decision === 'affine 4-bit g64')).toHaveLength(7);
  expect(j.groups.mtp.storedTensors).toBe(29);
  expect(j.groups.trunk.bitsPerWeight).toBeGreaterThan(4.5);
  expect(j.groups.trunk.bitsPerWeight).toBeLessThan(6);
  const human = await runCli(['plan', path.join(dir, 'q27'), '--policy', 'gdn8-speed4']);
  expect(human.stdout).toMatch(/trunk: +\d+ tensors -> \d+ stored, [\d.]+ GiB, [\d.]+ bits per weight/);
  expect(human.stdout).toMatch(/language_model\.model\.layers\.0\.linear_attn\.in_proj_qkv\.weight +model-\d{5}-of-\d{5}\.safetensors +BF16 +\[10240,5120\] +affine 8-bit g64/);
});
