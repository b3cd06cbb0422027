/**
 * MoE routing ties, native vs reference: the router rows of experts 0, 1 and 2 are made identical in
 * every MoE block (trunk and MTP head), so their softmax probabilities tie exactly and top-2 must break
 * the tie. mlx-lm's `mx.argpartition` leaves the order of equal values unspecified; both engines here
 * take the LOWER expert index first (test/reference/moe-route.ts), and this pins that they agree, in both
 * activation modes (the routers here are F32, so q8 changes only the affine linears, of which there are none).
 */
import * as fs from 'fs';
import * as path from 'path';
import { SafetensorsFile } from '../../src/safetensors/reader';
import { loadPair } from './engine-pair';
import { ACTIVATION_MODES } from '../../src/runtime/engine/activations';
import { WEIGHT_FORMATS, formatArtifact, type FixtureVariant } from '../support/format-artifacts';
import { rowRelErr } from '../support/rel-err';
import { TOL } from './row-check';
import { tempDir } from './engine-artifacts';

const F32 = WEIGHT_FORMATS.find((f) => f.id === 'none-float32')!;
const tmp = tempDir('ties');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Copies row 0 of every F32 router (`*.mlp.gate.weight`) over rows 1 and 2, in place. */
async function tieRouters(dir: string): Promise<number> {
  let patched = 0;
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors'))) {
    const p = path.join(dir, file);
    const f = await SafetensorsFile.open(p);
    const routers = [...f.tensors.values()].filter((t) => t.name.endsWith('.mlp.gate.weight'));
    await f.close();
    const fd = fs.openSync(p, 'r+');
    try {
      for (const t of routers) {
        expect(t.dtype).toBe('F32');
        const rowBytes = t.shape[1] * 4;
        const row0 = Buffer.alloc(rowBytes);
        fs.readSync(fd, row0, 0, rowBytes, t.offset);
        fs.writeSync(fd, row0, 0, rowBytes, t.offset + rowBytes);
        fs.writeSync(fd, row0, 0, rowBytes, t.offset + 2 * rowBytes);
        patched++;
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return patched;
}

const CASES = (['qwen35-moe', 'qwen36-moe', 'qwen3-next'] as FixtureVariant[]).flatMap((v) => ACTIVATION_MODES.map((m) => [v, m] as const));

test.each(CASES)('%s, %s activations: tied router logits pick the same experts in both engines', async (variant, mode) => {
  const dir = path.join(tmp, `${variant}-${mode}`);
  fs.cpSync(await formatArtifact(variant, F32), dir, { recursive: true });
  expect(await tieRouters(dir)).toBe(5); // 4 trunk layers + the MTP layer
  const { native, ref, close } = await loadPair(dir, mode);
  try {
    const prompt = [5, 77, 301, 12, 250, 9];
    const a = await native.newSession().forward(prompt);
    const sr = ref.newSession();
    const b = await sr.forward(prompt);
    expect(sr.firstUndetermined()).toBe(Infinity); // no affine weight: nothing is quantized in either mode
    expect(rowRelErr(a.logits, b.logits)).toBeLessThan(TOL);
    const H = ref.info.hiddenSize;
    const m = await native.newSession().mtpForward(b.hiddenPost.slice(0, 5 * H), prompt.slice(1));
    const r = await sr.mtpForward(b.hiddenPost.slice(0, 5 * H), prompt.slice(1));
    expect(rowRelErr(m.logits, r.logits)).toBeLessThan(TOL);
  } finally {
    close();
  }
});
