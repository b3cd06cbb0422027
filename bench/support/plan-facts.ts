/**
 * Facts about a conversion known from headers alone (no tensor data read): input shard files, planned
 * output bytes, and the largest input / output tensors, which bound the converter's working memory.
 */
import * as path from 'path';
import { Checkpoint } from '../../src/safetensors/checkpoint';
import { buildConversionPlan } from '../../src/convert/conversion-plan';
import { layoutArtifact } from '../../src/convert/artifact-layout';
import { tensorBytes } from '../../src/safetensors/types';

export interface PlanFacts {
  /** Absolute paths of the input shards. */
  inputFiles: string[];
  /** Tensor data bytes of the input (excludes headers and small files). */
  inputTensorBytes: number;
  /** Tensor data bytes the conversion will write (every output shard incl. the MTP sidecar). */
  outputTensorBytes: number;
  largestInputTensor: { name: string; bytes: number };
  /** Largest stored output tensor (a quantized weight, scales and biases count separately). */
  largestOutputTensor: { name: string; bytes: number };
  /** Largest set of stored tensors computed together from one planned tensor (weight + scales + biases). */
  largestOutputUnit: { name: string; bytes: number };
}

export async function planFacts(source: string, policy: string): Promise<PlanFacts> {
  const ck = await Checkpoint.open(source);
  try {
    const config = await ck.readJson<Record<string, unknown>>('config.json');
    const plan = buildConversionPlan(source, config, ck.tensors, { vision: 'drop', mtp: 'keep', policy: { spec: policy } });
    const layout = layoutArtifact(plan.tensors, 'sidecar');
    const inputs = [...ck.tensors.values()];
    const largestIn = inputs.reduce((a, t) => (t.byteLength > a.byteLength ? t : a));
    let largestOut = { name: '', bytes: 0 };
    let largestUnit = { name: '', bytes: 0 };
    let outputTensorBytes = 0;
    for (const shard of layout.all.flatMap((l) => l.shards)) {
      outputTensorBytes += shard.dataBytes;
      for (const u of shard.units) {
        let unitBytes = 0;
        for (const s of u.specs) {
          const b = tensorBytes(s.dtype, s.shape);
          unitBytes += b;
          if (b > largestOut.bytes) largestOut = { name: s.name, bytes: b };
        }
        if (unitBytes > largestUnit.bytes) largestUnit = { name: u.tensor.name, bytes: unitBytes };
      }
    }
    return {
      inputFiles: ck.shards.map((s) => path.join(ck.dir, s)),
      inputTensorBytes: inputs.reduce((a, t) => a + t.byteLength, 0),
      outputTensorBytes,
      largestInputTensor: { name: largestIn.name, bytes: largestIn.byteLength },
      largestOutputTensor: largestOut,
      largestOutputUnit: largestUnit,
    };
  } finally {
    await ck.close();
  }
}
