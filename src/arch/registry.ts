/** The architecture profiles, keyed by their id (the canonical `model_type`). */
import type { Architecture } from './architecture-id';
import type { ArchProfile } from './profile';
import { QWEN3_5 } from './families/qwen3_5';
import { QWEN3_5_MOE } from './families/qwen3_5_moe';
import { QWEN3_NEXT } from './families/qwen3_next';

export const ARCH_PROFILES: readonly ArchProfile[] = [QWEN3_5, QWEN3_5_MOE, QWEN3_NEXT];

export function archProfile(id: Architecture): ArchProfile {
  const p = ARCH_PROFILES.find((x) => x.id === id);
  if (!p) throw new Error(`no profile for architecture '${id}'`);
  return p;
}
