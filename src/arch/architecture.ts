/**
 * Which model family a checkpoint belongs to, from its config.json (never from tensor data).
 * The families share one MLX layout family but differ in prefixes, expert storage and GDN projections.
 */
import { InputError } from '../errors';
import type { Architecture } from './architecture-id';
import { ARCH_PROFILES } from './registry';

export type { Architecture };

export const SUPPORTED_ARCHITECTURES: readonly Architecture[] = ARCH_PROFILES.map((p) => p.id);

const BY_MODEL_TYPE: Record<string, Architecture> = Object.fromEntries(ARCH_PROFILES.flatMap((p) => p.modelTypes.map((t) => [t, p.id])));

const BY_CLASS: Record<string, Architecture> = Object.fromEntries(ARCH_PROFILES.flatMap((p) => p.classNames.map((c) => [c, p.id])));

/** Detects the architecture; an unknown one is an InputError that lists the supported ones. */
export function detectArchitecture(config: Record<string, unknown>, file = 'config.json'): Architecture {
  const modelType = config.model_type;
  if (typeof modelType === 'string' && BY_MODEL_TYPE[modelType]) return BY_MODEL_TYPE[modelType];
  const archs = Array.isArray(config.architectures) ? config.architectures : [];
  for (const a of archs) {
    if (typeof a === 'string' && BY_CLASS[a]) return BY_CLASS[a];
  }
  const seen = typeof modelType === 'string' ? `model_type '${modelType}'` : 'no model_type';
  throw new InputError(
    `unsupported architecture (${seen}, architectures ${JSON.stringify(archs)}); ` +
      `supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`,
    { file, field: 'model_type' },
  );
}
