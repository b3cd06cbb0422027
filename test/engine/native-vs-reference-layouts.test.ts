/**
 * Artifact layouts users already have (other tools' conventions), native vs reference: the MTP sidecar at
 * `mtp/weights.safetensors` without `mlx_lm_extra_tensors`, a qwen3_5 config.json flattened (no
 * `text_config`, which mlx-lm's `ModelArgs.from_dict` accepts), and only `quantization_config` (no
 * `quantization` key). Both engines must load the head and agree as in native-vs-reference.test.ts, in
 * both activation modes.
 */
import * as fs from 'fs';
import * as path from 'path';
import { loadPair } from './engine-pair';
import { ACTIVATION_MODES } from '../../src/runtime/engine/activations';
import { WEIGHT_FORMATS, formatArtifact, type FixtureVariant } from '../support/format-artifacts';
import { checkRows, newStats, tolFor } from './row-check';
import { editConfig, tempDir } from './engine-artifacts';

const tmp = tempDir('layouts');
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

type Json = Record<string, any>;

const EDITS: [string, FixtureVariant, string, (dir: string) => void][] = [
  ['sidecar in mtp/weights.safetensors, not named in config.json', 'qwen35-moe', 'affine4-g64-bfloat16', (dir) => {
    fs.mkdirSync(path.join(dir, 'mtp'));
    fs.renameSync(path.join(dir, 'mtp.safetensors'), path.join(dir, 'mtp', 'weights.safetensors'));
    editConfig(dir, (c: Json) => delete c.mlx_lm_extra_tensors);
  }],
  ['flat qwen3_5 config (text_config fields at the top level)', 'qwen35-dense-tied', 'affine3-g32-float16', (dir) => {
    editConfig(dir, (c: Json) => {
      const tc = c.text_config;
      delete c.text_config;
      for (const [k, v] of Object.entries(tc)) if (k !== 'model_type') c[k] = v;
    });
  }],
  ['only quantization_config (no quantization key)', 'qwen36-moe', 'gdn8-speed4', (dir) => {
    editConfig(dir, (c: Json) => delete c.quantization);
  }],
];

const CASES = EDITS.flatMap(([name, variant, formatId, edit]) => ACTIVATION_MODES.map((m) => [name, variant, formatId, m, edit] as const));

test.each(CASES)('%s (%s %s, %s activations)', async (_name, variant, formatId, mode, edit) => {
  const dir = path.join(tmp, `${variant}-${formatId}-${mode}`);
  fs.cpSync(await formatArtifact(variant, WEIGHT_FORMATS.find((f) => f.id === formatId)!), dir, { recursive: true });
  edit(dir);
  const { native, ref, close } = await loadPair(dir, mode);
  try {
    expect(ref.info.hasMtp).toBe(true);
    expect(native.info.hasMtp).toBe(true);
    const prompt = [3, 141, 59, 265, 35, 89];
    const sn = native.newSession();
    const sr = ref.newSession();
    const a = await sn.forward(prompt);
    const b = await sr.forward(prompt);
    const stats = newStats();
    checkRows('trunk logits', a.logits, b.logits, ref.info.vocabSize, 0, sr.firstUndetermined(), stats, tolFor(mode));
    const H = ref.info.hiddenSize;
    const rows = b.hiddenPost.slice(0, 5 * H);
    const m = await sn.mtpForward(rows, prompt.slice(1));
    const r = await sr.mtpForward(rows, prompt.slice(1));
    checkRows('MTP logits', m.logits, r.logits, ref.info.vocabSize, 0, sr.firstMtpUndetermined(), stats, tolFor(mode));
  } finally {
    close();
  }
});
