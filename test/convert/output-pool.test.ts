/**
 * The executor quantizes into pooled memory (one buffer per tensor, reused once written). A buffer must
 * not be lent again before the writer and the sha256 sink are done with its bytes. Here every write is
 * held back until the next tensor's quantization has finished, which is exactly when an early reuse
 * would have overwritten it: the shards must still hold, tensor for tensor, what a fresh-memory
 * computation gives, and their digests must be the files' sha256.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { computeTensor } from '../../src/convert/compute-tensor';
import { executeLayouts } from '../../src/convert/execute-plan';
import * as quantizeStep from '../../src/convert/quantize-step';
import { layoutShards, trunkShardName } from '../../src/convert/shard-layout';
import type { PlannedTensor, QuantDecision } from '../../src/plan/types';
import { outputSpecs } from '../../src/plan/output-specs';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { SafetensorsWriter, writeSafetensorsFile } from '../../src/safetensors/writer';
import { sha256File } from '../../src/checksum/checksums';
import { encodeFloats } from '../../src/quant/kernels/float-io';
import { GROUP_KINDS, makeTensor } from '../../src/quant/kernels/synthetic';
import { LocalSource } from '../../src/source/local-source';

let tmp: string;
let src: LocalSource;

const Q = (mode: 'affine' | 'mxfp4', bits: number, groupSize: number): QuantDecision => ({ action: 'quantize', mode, bits, groupSize });
// Mixed sizes and modes, so the pool's best fit hands a buffer to tensors of other sizes too.
const TENSORS: { name: string; shape: number[]; quant?: QuantDecision }[] = [];
for (let l = 0; l < 4; l++) {
  TENSORS.push({ name: `model.layers.${l}.mlp.up_proj.weight`, shape: [64, 1024], quant: Q('affine', 4, 64) });
  TENSORS.push({ name: `model.layers.${l}.mlp.down_proj.weight`, shape: [32, 512], quant: Q('affine', 8, 32) });
  TENSORS.push({ name: `model.layers.${l}.self_attn.o_proj.weight`, shape: [48, 1024], quant: Q('mxfp4', 4, 32) });
}
// Unquantized ones last: a held write followed by no quantization only waits for its timeout.
for (let l = 0; l < 2; l++) TENSORS.push({ name: `model.layers.${l}.input_layernorm.weight`, shape: [1024] });

function planned(t: (typeof TENSORS)[number]): PlannedTensor {
  return {
    name: t.name,
    sources: [{ tensor: t.name, dtype: 'BF16', shape: t.shape }],
    transforms: [],
    dtype: 'BF16',
    shape: t.shape,
    group: 'trunk',
    facts: { module: t.name.replace(/\.weight$/, ''), param: 'weight', role: 'other', mtp: false },
    notes: [],
    ...(t.quant ? { quant: t.quant } : {}),
  } as unknown as PlannedTensor;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-outpool-'));
  fs.mkdirSync(path.join(tmp, 'in'));
  const entries = TENSORS.map((t, i) => {
    const rows = t.shape.length > 1 ? t.shape[0] : 1;
    const cols = t.shape[t.shape.length - 1];
    return { spec: { name: t.name, dtype: 'BF16' as const, shape: t.shape }, data: encodeFloats(makeTensor(GROUP_KINDS, rows, cols, 32, 4, 40 + i, 'BF16'), 'BF16') };
  });
  await writeSafetensorsFile(path.join(tmp, 'in', 'model.safetensors'), entries);
  src = await LocalSource.open(path.join(tmp, 'in'));
});
afterAll(async () => {
  await src.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => jest.restoreAllMocks());

test('pooled quantizer outputs are reused, yet every shard holds exactly the fresh-memory bytes and its digest is the file sha256', async () => {
  const tensors = TENSORS.map(planned);
  const total = tensors.reduce((a, t) => a + outputSpecs(t).length, 0);
  expect(total).toBeGreaterThan(30);
  const layouts = [layoutShards(tensors, 180_000, trunkShardName)];
  expect(layouts[0].shards.length).toBeGreaterThan(1); // across shard boundaries too

  // Hold the first write of each pooled buffer (the weight, at offset 0) until the next quantization has
  // finished (or 200 ms, for the last tensor of a shard): an early reuse would have overwritten it by then.
  const origQuantize = quantizeStep.quantizeTensor;
  const origWrite = SafetensorsWriter.prototype.write;
  const lent = new Map<ArrayBuffer, number>();
  let quantized = 0;
  let wake: (() => void)[] = [];
  jest.spyOn(quantizeStep, 'quantizeTensor').mockImplementation(async (data, t, q, opts, memory) => {
    expect(memory).toBeDefined();
    const seen = (bytes: number) => {
      const b = memory!(bytes);
      lent.set(b.buffer as ArrayBuffer, (lent.get(b.buffer as ArrayBuffer) ?? 0) + 1);
      return b;
    };
    const r = await origQuantize(data, t, q, opts, seen);
    quantized++;
    const w = wake;
    wake = [];
    w.forEach((f) => f());
    return r;
  });
  let held = 0;
  jest.spyOn(SafetensorsWriter.prototype, 'write').mockImplementation(async function (this: SafetensorsWriter, chunk: Buffer) {
    if (!lent.has(chunk.buffer as ArrayBuffer) || chunk.byteOffset !== 0) return origWrite.call(this, chunk);
    const before = quantized;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 200);
      wake.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (quantized > before) held++;
    return origWrite.call(this, chunk);
  });

  const out = path.join(tmp, 'out');
  fs.mkdirSync(out);
  const r = await executeLayouts(src, layouts, out, { rounding: 'metal', threads: 2 });
  jest.restoreAllMocks();

  // The test means something only if memory was reused while earlier writes were still held back.
  const quantizedTensors = tensors.filter((t) => t.quant?.action === 'quantize').length;
  expect(quantized).toBe(quantizedTensors);
  expect(lent.size).toBeLessThanOrEqual(4);
  expect(Math.max(...lent.values())).toBeGreaterThan(2);
  expect(held).toBeGreaterThan(quantizedTensors / 2);

  const ck = await Checkpoint.open(out);
  try {
    for (const t of tensors) {
      const fresh = await computeTensor(src, t, { rounding: 'metal', threads: 2 });
      for (const o of fresh.outputs) {
        const got = await ck.readTensor(o.spec.name);
        if (!got.equals(o.data)) throw new Error(`${o.spec.name}: shard bytes differ from a fresh-memory computation`);
      }
    }
  } finally {
    await ck.close();
  }
  for (const [file, d] of r.digests) expect((await sha256File(path.join(out, file))).sha256).toBe(d.sha256);
  expect(r.digests.size).toBe(layouts[0].shards.length);
}, 60000);
