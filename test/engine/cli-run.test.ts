/** `mtpkit run`: greedy output equals a plain argmax loop over the engine; errors exit 2 (bad input) or 1 (NaN). */
import * as fs from 'fs';
import * as path from 'path';
import { loadModel } from '../../src/runtime/engine/load-model';
import { argmax } from '../../src/runtime/sampling';
import { loadTokenizer } from '../../src/runtime/text/tokenizer';
import type { ActivationMode } from '../../src/runtime/engine/activations';
import { parseJsonOutput, runCli } from '../support/run-cli';
import { convertFixture, copyArtifact, tempDir, tensorOffset } from './engine-artifacts';

const tmp = tempDir('cli');
let art: string;

beforeAll(async () => {
  art = await convertFixture(tmp, 'qwen35-dense', { policy: { spec: 'gdn8-speed4' } } as never);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function greedyIds(prompt: number[], n: number, eos: number[], activations?: ActivationMode): Promise<number[]> {
  const model = await loadModel(art, { threads: 1, activations });
  const s = model.newSession();
  let logits: Float32Array = (await s.forward(prompt)).logits.slice(-model.info.vocabSize);
  const out: number[] = [];
  for (;;) {
    const id = argmax(logits);
    if (eos.includes(id) || out.length === n) break;
    out.push(id);
    if (out.length === n) break;
    logits = (await s.forward([id])).logits;
  }
  model.close();
  return out;
}

test('--ids --json: greedy ids equal an argmax loop, text is their decoding, timings present', async () => {
  const r = await runCli(['run', art, '--ids', '5,77,300', '--max-tokens', '12', '--json', '--threads', '1']);
  expect(r.code).toBe(0);
  const j = parseJsonOutput<any>(r);
  const codec = await loadTokenizer(art);
  expect(j.promptIds).toEqual([5, 77, 300]);
  expect(j.ids).toEqual(await greedyIds([5, 77, 300], 12, codec.eosTokenIds));
  expect(j.text).toBe(codec.decode(j.ids));
  expect(j.timings.promptTokens).toBe(3);
  expect(j.timings.generatedTokens).toBe(j.ids.length);
  expect(j.timings.decodeTokensPerSecond).toBeGreaterThan(0);
  expect(j.activations).toBe('q8');
});

test('--activations f32 runs float activations and --json says so; MTPKIT_ACTIVATIONS sets the default; a bad mode exits 2', async () => {
  const eos = (await loadTokenizer(art)).eosTokenIds;
  const f32 = parseJsonOutput<any>(await runCli(['run', art, '--ids', '5,77,300', '--max-tokens', '12', '--json', '--threads', '1', '--activations', 'f32']));
  expect(f32.activations).toBe('f32');
  expect(f32.ids).toEqual(await greedyIds([5, 77, 300], 12, eos, 'f32'));
  const bad = await runCli(['run', art, '--ids', '1', '--activations', 'int8']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/--activations takes q8 or f32/);
  try {
    process.env.MTPKIT_ACTIVATIONS = 'f32';
    expect(parseJsonOutput<any>(await runCli(['run', art, '--ids', '5,77,300', '--max-tokens', '2', '--json', '--threads', '1'])).activations).toBe('f32');
    process.env.MTPKIT_ACTIVATIONS = 'fp32';
    const badEnv = await runCli(['run', art, '--ids', '1']);
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toMatch(/MTPKIT_ACTIVATIONS takes q8 or f32.*'fp32'/);
  } finally {
    delete process.env.MTPKIT_ACTIVATIONS;
  }
});

test('--prompt --chat streams the decoded text and reports tok/s on stderr', async () => {
  const r = await runCli(['run', art, '--prompt', 'Hello', '--chat', '--max-tokens', '8', '--threads', '1']);
  expect(r.code).toBe(0);
  const codec = await loadTokenizer(art);
  const prompt = codec.encode(codec.applyChatTemplate([{ role: 'user', content: 'Hello' }]));
  const ids = await greedyIds(prompt, 8, codec.eosTokenIds);
  expect(r.stdout).toBe(codec.decode(ids) + '\n');
  expect(r.stderr).toMatch(/prompt: \d+ tokens, [\d.]+ tok\/s \| decode: \d+ tokens/);
});

test('sampling with a seed is reproducible', async () => {
  const args = ['run', art, '--ids', '1,2', '--max-tokens', '10', '--temp', '0.9', '--top-p', '0.9', '--top-k', '50', '--seed', '11', '--json'];
  const a = parseJsonOutput<any>(await runCli(args));
  const b = parseJsonOutput<any>(await runCli(args));
  expect(a.ids).toEqual(b.ids);
});

test('bad input exits 2: id out of range, no prompt, both prompt kinds', async () => {
  const r1 = await runCli(['run', art, '--ids', '1,384']);
  expect(r1.code).toBe(2);
  expect(r1.stderr).toMatch(/token id 384/);
  expect((await runCli(['run', art])).code).toBe(2);
  expect((await runCli(['run', art, '--ids', '1', '--prompt', 'x'])).code).toBe(2);
  expect((await runCli(['run', art, '--ids', '1,x'])).code).toBe(2);
});

test('NaN logits (a NaN scale in the LM head) fail with exit 1', async () => {
  const bad = copyArtifact(art, path.join(tmp, 'nan'));
  const file = path.join(bad, 'model.safetensors');
  const { offset, byteLength } = await tensorOffset(file, 'language_model.lm_head.scales');
  const fd = fs.openSync(file, 'r+');
  const nan = Buffer.alloc(byteLength);
  for (let i = 0; i < byteLength; i += 2) nan.writeUInt16LE(0x7fc0, i);
  fs.writeSync(fd, nan, 0, byteLength, offset);
  fs.closeSync(fd);
  const r = await runCli(['run', bad, '--ids', '1,2', '--max-tokens', '3']);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/NaN in the logits/);
});
