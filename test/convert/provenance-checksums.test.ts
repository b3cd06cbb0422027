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

test.each([
  ['qwen35-moe', 'gdn8-speed4'],
  ['qwen36-moe', 'none'],
])('%s with %s: input and output checksums equal sha256sum, over several shards', async (fixture, policy) => {
  const src = path.join(FIX, fixture);
  const out = path.join(tmp, `${fixture}-${policy}`);
  const summary = await runConvert(convertOptions(src, out, { policy: { spec: policy }, maxShardBytes: 64 * 1024 }));
  const contract = JSON.parse(fs.readFileSync(path.join(out, 'mtplx_runtime.json'), 'utf8'));
  const prov = contract.mtpkit_provenance;
  const shards = summary.files.filter((f) => f.endsWith('.safetensors'));
  expect(shards.length).toBeGreaterThan(2);
  expect(prov.input_checksums.length).toBe(2);
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
