/**
 * The provenance checksums a conversion records (inputs hashed in pieces on the pool, outputs hashed as
 * they are written, shards finished while the next one is computed) are what a separate `sha256sum`
 * prints for the same files, over several input and output shards.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runConvert } from '../../src/convert/pipeline';
import { ReadPassHash } from '../../src/source/read-pass-hash';
import { convertOptions } from '../support/convert-options';

const FIX = path.join(__dirname, '..', '..', 'fixtures');
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-prov-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** `sha256sum` when installed, else a plain streaming read through node's crypto (still independent of the converter). */
function separateSha256(file: string): string {
  try {
    return execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(/\s+/)[0];
  } catch {
    const { createHash } = require('crypto') as typeof import('crypto');
    return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  }
}

// The dense fixture's executor reads bring most of its input file, so it is hashed from them
// (source/read-pass-hash.ts); the MoE fixtures' reads bring under half (stacked experts, dropped
// vision), so theirs are hashed in a separate pass.
test.each([
  ['qwen35-moe', 'gdn8-speed4', 2, false],
  ['qwen36-moe', 'none', 2, false],
  ['qwen35-dense', 'gdn8-speed4', 1, true],
  ['qwen35-dense', 'none', 1, true],
])('%s with %s: input and output checksums equal sha256sum, over several shards', async (fixture, policy, inputs, readPass) => {
  const src = path.join(FIX, fixture);
  const out = path.join(tmp, `${fixture}-${policy}`);
  // Which inputs were hashed from the executor's own reads (the rest, separately on the pool).
  const fromReads: string[] = [];
  const digest = ReadPassHash.prototype.digest;
  const spy = jest.spyOn(ReadPassHash.prototype, 'digest').mockImplementation(function (this: ReadPassHash) {
    if (this.fromReads > 0) fromReads.push(this.label);
    return digest.call(this);
  });
  const summary = await runConvert(convertOptions(src, out, { policy: { spec: policy }, maxShardBytes: 64 * 1024 })).finally(() => spy.mockRestore());
  expect(fromReads.length).toBe(readPass ? inputs : 0);
  const contract = JSON.parse(fs.readFileSync(path.join(out, 'mtplx_runtime.json'), 'utf8'));
  const prov = contract.mtpkit_provenance;
  const shards = summary.files.filter((f) => f.endsWith('.safetensors'));
  expect(shards.length).toBeGreaterThan(2);
  expect(prov.input_checksums.length).toBe(inputs);
  for (const c of prov.input_checksums) {
    const file = path.join(src, c.file);
    expect({ size: c.size, sha256: c.sha256 }).toEqual({ size: fs.statSync(file).size, sha256: separateSha256(file) });
  }
  const recorded = new Map<string, { size: number; sha256: string }>(prov.output_checksums.map((c: any) => [c.file, c]));
  for (const f of shards) {
    const file = path.join(out, f);
    expect(recorded.get(f)).toMatchObject({ size: fs.statSync(file).size, sha256: separateSha256(file) });
  }
});
