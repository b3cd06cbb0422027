/** config.json of the artifact, written as mlx-lm's save_config does (sorted keys, indent 4). */

export interface ConfigEdits {
  /** Keep `vision_config` (only when the vision tower is kept). */
  keepVision: boolean;
  /** Set on the text part (text_config when nested, else top level). */
  text: Record<string, unknown>;
  /** Written as both `quantization` and `quantization_config`; undefined removes both. */
  quantization?: Record<string, unknown>;
  /** Extra top-level keys (e.g. mlx_lm_extra_tensors). */
  top?: Record<string, unknown>;
}

export function buildOutputConfig(source: Record<string, unknown>, edits: ConfigEdits): Record<string, unknown> {
  const cfg: Record<string, unknown> = JSON.parse(JSON.stringify(source));
  delete cfg._name_or_path;
  if (!edits.keepVision) delete cfg.vision_config;
  delete cfg.quantization;
  delete cfg.quantization_config;
  const nested = typeof cfg.text_config === 'object' && cfg.text_config !== null;
  const text = (nested ? cfg.text_config : cfg) as Record<string, unknown>;
  Object.assign(text, edits.text);
  if (nested && 'tie_word_embeddings' in text && 'tie_word_embeddings' in cfg) {
    cfg.tie_word_embeddings = text.tie_word_embeddings;
  }
  if (edits.quantization) {
    cfg.quantization = edits.quantization;
    cfg.quantization_config = JSON.parse(JSON.stringify(edits.quantization));
  }
  Object.assign(cfg, edits.top ?? {});
  return cfg;
}

/** JSON with keys sorted at every level and indent 4, like Python's json.dump(sort_keys=True, indent=4). */
export function formatConfigJson(cfg: unknown): string {
  return JSON.stringify(sortKeys(cfg), null, 4);
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}
