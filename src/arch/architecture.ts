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

/**
 * Detects the architecture; an unknown one is an InputError that lists the supported ones. Every
 * `model_type` the config declares (top level and `text_config`) must name a supported family, the same
 * one: a known class name in `architectures` does not make an unknown `model_type` acceptable.
 */
export function detectArchitecture(config: Record<string, unknown>, file = 'config.json'): Architecture {
  const text = typeof config.text_config === 'object' && config.text_config !== null ? (config.text_config as Record<string, unknown>) : undefined;
  const declared: [string, unknown][] = [['model_type', config.model_type], ['text_config.model_type', text?.model_type]];
  let found: Architecture | undefined;
  let foundField = '';
  for (const [field, v] of declared) {
    if (v === undefined || v === null) continue;
    const arch = typeof v === 'string' ? BY_MODEL_TYPE[v] : undefined;
    if (!arch) throw unsupported(`${field} ${JSON.stringify(v)}`, config, file, field);
    if (found && arch !== found) {
      throw new InputError(`${field} ${JSON.stringify(v)} is ${arch} but ${foundField} says ${found}`, { file, field });
    }
    found = arch;
    foundField = field;
  }
  if (found) return found;
  const archs = Array.isArray(config.architectures) ? config.architectures : [];
  for (const a of archs) {
    if (typeof a === 'string' && BY_CLASS[a]) return BY_CLASS[a];
  }
  throw unsupported('no model_type', config, file, 'model_type');
}

function unsupported(seen: string, config: Record<string, unknown>, file: string, field: string): InputError {
  const archs = Array.isArray(config.architectures) ? config.architectures : [];
  return new InputError(
    `unsupported architecture (${seen}, architectures ${JSON.stringify(archs)}); ` +
      `supported: ${SUPPORTED_ARCHITECTURES.join(', ')}`,
    { file, field },
  );
}
