/**
 * The planned output of a source against its architecture's expected tensor set (src/arch
 * expected-tensors.ts): a tensor the model needs but the source lacks, one the model has no place for, or a
 * shape that disagrees with config.json is an InputError naming the source tensor, before any data is read.
 */
import { InputError } from '../errors';
import type { PlannedTensor } from '../plan/types';
import type { ModelDims } from '../arch/model-dims';
import { expectedTensors, formatShape, hfName, mlxName } from '../arch/expected-tensors';
import { archProfile } from '../arch/registry';

export interface ExpectedCheckOptions {
  /** Source label for messages. */
  file: string;
  /** MTP layers the output will have (0: the head is not converted). */
  mtpLayers: number;
  /** Check only the expected tensors this accepts (MLX names), as sanitize's `select` does. */
  select?: (mlxName: string) => boolean;
  /** The source names tensors as Hugging Face does (else as MLX does). */
  hfNaming: boolean;
}

/** The sources of a planned tensor, for messages (a stack of many experts is abbreviated). */
function sourceOf(t: PlannedTensor): string {
  const listed = t.sources.slice(0, 2).map((s) => `'${s.tensor}' ${formatShape(s.shape)}`).join(', ');
  return t.sources.length > 2 ? `${listed} and ${t.sources.length - 2} more stacked` : listed;
}

export function checkExpectedTensors(planned: readonly PlannedTensor[], d: ModelDims, opts: ExpectedCheckOptions): void {
  const expected = expectedTensors(d, { mtpLayers: opts.mtpLayers, mtp: 'inline' });
  const file = opts.file;
  const arch = d.arch;
  const seen = new Set<string>();
  for (const t of planned) {
    if (t.group === 'vision') continue;
    const want = expected.get(t.name);
    const src = t.sources[0]?.tensor ?? t.name;
    if (!want) {
      throw new InputError(
        `unexpected tensor: ${arch} has no '${t.name}' (config: ${d.layers} layers, ${d.nExperts ? `${d.nExperts} experts` : 'dense'}, ` +
          `${d.tie ? 'tied embeddings' : 'untied'}, ${opts.mtpLayers} MTP layer(s)); a checkpoint of another model or a damaged one`,
        { file, tensor: src },
      );
    }
    seen.add(t.name);
    if (t.shape.join() !== want.shape.join()) {
      const how = t.sources.length === 1 && t.sources[0].tensor === src && t.shape.join() === t.sources[0].shape.join() ? '' : ` (from ${sourceOf(t)})`;
      throw new InputError(
        `shape ${formatShape(t.shape)}${how} disagrees with config.json, which implies ${formatShape(want.shape)} for ${want.canonical}`,
        { file, tensor: src },
      );
    }
  }
  const missing = [...expected.values()].filter((e) => !seen.has(e.name) && (!opts.select || opts.select(e.name)));
  if (missing.length) {
    const nameOf = (canonical: string) => (opts.hfNaming ? hfName(canonical, arch) : mlxName(canonical, arch));
    const first = missing[0];
    const more = missing.length > 1 ? `; ${missing.length - 1} more missing: ${missing.slice(1, 6).map((m) => nameOf(m.canonical)).join(', ')}${missing.length > 6 ? ', ...' : ''}` : '';
    const expert = first.module.kind === 'linear' && first.module.experts > 0 ? ' (as fused experts.* or one tensor per expert)' : '';
    throw new InputError(
      `missing tensor: ${arch} with this config.json needs it${expert}, expected shape ${formatShape(first.shape)}${more}`,
      { file, tensor: nameOf(first.canonical) },
    );
  }
}

/** Whether the source names its decoder tensors the Hugging Face way (`model.language_model.` / `model.`). */
export function usesHfNaming(names: Iterable<string>, d: ModelDims): boolean {
  const p = archProfile(d.arch).hfModelPrefix;
  for (const n of names) if (n.startsWith(p)) return true;
  return false;
}

/**
 * The MTP layers the output must have. A config that states `mtp_num_hidden_layers` must agree with the
 * head's tensors (a missing or extra layer is a damaged or mislabelled checkpoint); one that does not
 * state it (Qwen3-Next) takes the count from the tensors. `--mtp drop` wants none.
 */
export function mtpLayersToExpect(opts: { declared?: number; found: number; drop: boolean; nested: boolean; file: string }): number {
  if (opts.drop) return 0;
  if (opts.declared === undefined || opts.declared === opts.found) return opts.found;
  const fix = opts.declared === 0 ? '; to convert without the head use --mtp drop' : '';
  throw new InputError(
    `config.json declares ${opts.declared} MTP layer(s) but the checkpoint's mtp.* tensors hold ${opts.found}${fix}`,
    { file: `${opts.file}/config.json`, field: `${opts.nested ? 'text_config.' : ''}mtp_num_hidden_layers` },
  );
}
