/** HF -> MLX tensor names (ml-explore/mlx-lm mlx_lm/models/qwen3_5.py and qwen3_next.py, `sanitize`). */
import type { Architecture } from './architecture';
import { archProfile } from './registry';
import type { OutputGroup } from '../plan/types';

export type KeyMapping =
  | { kind: 'keep'; name: string; group: OutputGroup }
  | { kind: 'vision'; name: string };

export function mapKey(hfName: string, arch: Architecture): KeyMapping {
  if (archProfile(arch).mlxTextPrefix === '') {
    // Qwen3-Next has no VLM wrapper: names stay as they are (MTP kept as `mtp.*`).
    return { kind: 'keep', name: hfName, group: groupOf(hfName) };
  }
  if (hfName.startsWith('model.visual.')) {
    return { kind: 'vision', name: 'vision_tower.' + hfName.slice('model.visual.'.length) };
  }
  if (hfName.startsWith('vision_tower.')) return { kind: 'vision', name: hfName };
  let name: string;
  if (hfName.startsWith('model.language_model.')) name = 'language_model.model.' + hfName.slice('model.language_model.'.length);
  else if (hfName.startsWith('language_model.')) name = hfName;
  else name = 'language_model.' + hfName;
  return { kind: 'keep', name, group: groupOf(name) };
}

function groupOf(mlxName: string): OutputGroup {
  return mlxName.startsWith('mtp.') || mlxName.startsWith('language_model.mtp.') ? 'mtp' : 'trunk';
}

/** The `lm_head` key in MLX naming for an architecture. */
export function lmHeadName(arch: Architecture): string {
  return `${archProfile(arch).mlxTextPrefix}lm_head.weight`;
}
