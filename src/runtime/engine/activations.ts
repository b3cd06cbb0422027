/**
 * The engine's activation mode. 'q8': each activation row is quantized to int8 per block of 32 before a
 * linear over an affine-quantized weight (integer block dot products, the scheme of llama.cpp's Q8_0);
 * 'f32': float activations everywhere. fp (mx/nv) and unquantized weights keep float activations in both.
 */
import { InputError } from '../../errors';

export type ActivationMode = 'q8' | 'f32';
export const ACTIVATION_MODES: readonly ActivationMode[] = ['q8', 'f32'];
export const DEFAULT_ACTIVATIONS: ActivationMode = 'q8';
export const ACTIVATIONS_ENV = 'MTPKIT_ACTIVATIONS';

/** `what` names where the value came from (`--activations`, the option field) in the error. */
export function parseActivations(value: unknown, what = 'activations'): ActivationMode {
  const text = String(value).trim();
  if ((ACTIVATION_MODES as readonly string[]).includes(text)) return text as ActivationMode;
  throw new InputError(`${what} takes ${ACTIVATION_MODES.join(' or ')} (int8 or float activations for affine weights), got '${text}'`);
}

/** An explicit mode wins; otherwise MTPKIT_ACTIVATIONS when set; otherwise 'q8'. */
export function resolveActivations(value: unknown): ActivationMode {
  if (value !== undefined) return parseActivations(value);
  const env = process.env[ACTIVATIONS_ENV];
  if (env !== undefined && env.trim() !== '') return parseActivations(env, ACTIVATIONS_ENV);
  return DEFAULT_ACTIVATIONS;
}
