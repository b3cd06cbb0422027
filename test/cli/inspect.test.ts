import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeSafetensorsFile } from '../../src/safetensors/writer';
import { runCli, parseJsonOutput } from '../support/run-cli';

let dir: string;
beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-inspect-'));
  await writeSafetensorsFile(
    path.join(dir, 'model.safetensors'),
    [
      { spec: { name: 'model.language_model.layers.0.linear_attn.conv1d.weight', dtype: 'BF16', shape: [8, 1, 4] }, data: Buffer.alloc(64) },
      { spec: { name: 'mtp.fc.weight', dtype: 'BF16', shape: [4, 8] }, data: Buffer.alloc(64) },
    ],
    { format: 'pt' },
  );
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('inspect --json lists tensors, guesses the architecture without a config and sees the MTP head', async () => {
  const r = await runCli(['inspect', dir, '--json']);
  expect(r.code).toBe(0);
  const j = parseJsonOutput<any>(r);
  expect(j.tensorCount).toBe(2);
  expect(j.architecture).toBe('qwen3_5');
  expect(j.architectureSource).toBe('tensor names');
  expect(j.mtp).toEqual({ present: true, tensors: 1, bytes: 64 });
  expect(j.tensors.map((t: any) => t.name)).toContain('mtp.fc.weight');
  expect(j.tensors[0]).toMatchObject({ dtype: 'BF16', shard: 'model.safetensors' });
});

test('inspect exits 2 and names the file for a malformed safetensors file', async () => {
  const bad = path.join(dir, 'bad.safetensors');
  const header = Buffer.from('{"x": {"dtype": "BF16", "shape": [4], "data_offsets": [0, 6]}}');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(header.length));
  fs.writeFileSync(bad, Buffer.concat([len, header, Buffer.alloc(6)]));
  const r = await runCli(['inspect', bad]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain('bad.safetensors');
  const j = await runCli(['inspect', bad, '--json']);
  expect(j.code).toBe(2);
  expect(parseJsonOutput<any>(j).error.message).toContain('bad.safetensors');
});

test('unknown commands and missing arguments are usage errors (exit 2)', async () => {
  expect((await runCli(['frobnicate'])).code).toBe(2);
  expect((await runCli(['inspect'])).code).toBe(2);
});

test('a missing path is an error naming it', async () => {
  const r = await runCli(['inspect', path.join(dir, 'nope')]);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain('nope');
});

test('inspect of an artifact with a sidecar head lists the head', async () => {
  const { runConvert } = await import('../../src/convert/pipeline');
  const out = path.join(dir, 'artifact');
  await runConvert({ source: path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense-tied'), out, force: false, rounding: 'metal', vision: 'drop', mtp: 'keep', policy: { spec: 'none' } });
  const j = parseJsonOutput<any>(await runCli(['inspect', out, '--json']));
  expect(j.mtp).toMatchObject({ present: true, tensors: 15 });
  expect(j.shards).toEqual(['model.safetensors', 'mtp.safetensors']);
});
