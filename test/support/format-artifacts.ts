/**
 * The committed fixtures converted (by mtpkit's own convert pipeline) into one artifact per weight format,
 * for tests that run two engines on the same artifact. Each artifact is converted once per test file, on
 * first use, into a temp folder removed after that file's tests.
 */
import { mkdtempSync, rmSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { runConvert } from '../../src/convert/pipeline';
import type { PolicyChoice } from '../../src/convert/apply-policy';
import type { TargetDType } from '../../src/sanitize/plan-sanitize';
import { convertOptions } from './convert-options';

export const FIXTURE_VARIANTS = ['qwen35-dense-tied', 'qwen35-dense', 'qwen35-moe', 'qwen36-moe', 'qwen3-next'] as const;
export type FixtureVariant = (typeof FIXTURE_VARIANTS)[number];

export interface WeightFormat {
  id: string;
  policy: PolicyChoice;
  dtype: TargetDType;
  mtpLayout: 'sidecar' | 'inline';
}

function affine(bits: number, groupSize: number, dtype: TargetDType, mtpLayout: WeightFormat['mtpLayout']): WeightFormat {
  return { id: `affine${bits}-g${groupSize}-${dtype}`, policy: { spec: 'uniform', bits, groupSize, mode: 'affine' }, dtype, mtpLayout };
}

/**
 * Every bit width, every group size and every scale dtype at least once (not the full product), the
 * three float modes, unquantized in each float dtype, a mixed policy with per-module overrides (also with
 * float16 scales and kept tensors, +fp16), and the default uniform 4/64 with float32 scales and tensors.
 * The two MTP layouts alternate. The fixtures' linears are 64 (or 128) wide, so with group 128 only
 * the 128-wide inputs are quantized and the rest stay float: both paths in one artifact.
 */
export const WEIGHT_FORMATS: readonly WeightFormat[] = [
  { id: 'none-bfloat16', policy: { spec: 'none' }, dtype: 'bfloat16', mtpLayout: 'sidecar' },
  { id: 'none-float16', policy: { spec: 'none' }, dtype: 'float16', mtpLayout: 'inline' },
  { id: 'none-float32', policy: { spec: 'none' }, dtype: 'float32', mtpLayout: 'sidecar' },
  affine(2, 64, 'bfloat16', 'inline'),
  affine(3, 32, 'float16', 'sidecar'),
  affine(4, 64, 'bfloat16', 'sidecar'),
  affine(4, 64, 'float32', 'sidecar'),
  affine(4, 128, 'float32', 'inline'),
  affine(5, 64, 'float16', 'inline'),
  affine(6, 128, 'bfloat16', 'sidecar'),
  affine(8, 32, 'float32', 'sidecar'),
  { id: 'mxfp4', policy: { spec: 'uniform', mode: 'mxfp4' }, dtype: 'bfloat16', mtpLayout: 'inline' },
  { id: 'mxfp8', policy: { spec: 'uniform', mode: 'mxfp8' }, dtype: 'bfloat16', mtpLayout: 'sidecar' },
  { id: 'nvfp4', policy: { spec: 'uniform', mode: 'nvfp4' }, dtype: 'float16', mtpLayout: 'inline' },
  { id: 'gdn8-speed4', policy: { spec: 'gdn8-speed4' }, dtype: 'bfloat16', mtpLayout: 'sidecar' },
  { id: 'gdn8-speed4-fp16', policy: { spec: 'gdn8-speed4+fp16' }, dtype: 'bfloat16', mtpLayout: 'inline' },
];

export const FIXTURES_DIR = path.join(__dirname, '..', '..', 'fixtures');

let root: string | undefined;

/**
 * One temp folder per test file (jest gives each file fresh modules), removed after the file's tests:
 * jest ends its workers without running process 'exit' handlers. The hook is registered when a test
 * file imports this module (hooks cannot be added from inside a test).
 */
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

function fileRoot(): string {
  root ??= mkdtempSync(path.join(os.tmpdir(), 'mtpkit-formats-'));
  return root;
}

const cache = new Map<string, Promise<string>>();

/** Path of the artifact of `variant` in `format`, converted on first use. */
export function formatArtifact(variant: FixtureVariant, format: WeightFormat): Promise<string> {
  const key = `${variant}/${format.id}`;
  let p = cache.get(key);
  if (!p) {
    const out = path.join(fileRoot(), variant, format.id);
    p = runConvert(convertOptions(path.join(FIXTURES_DIR, variant), out, { policy: format.policy, dtype: format.dtype, mtpLayout: format.mtpLayout, threads: 1 })).then(() => out);
    cache.set(key, p);
  }
  return p;
}
