/** `--activations q8|f32` for the commands that run the engine (run, smoke, convert/graft --smoke). */
import type { Argv } from 'yargs';
import { parseActivations, type ActivationMode } from '../runtime/engine/activations';

export interface ActivationsArgs {
  activations?: ActivationMode;
}

export function activationsOption<T>(y: Argv<T>): Argv<T> {
  return y
    .option('activations', {
      type: 'string',
      describe: 'engine activations for affine-quantized weights: q8 = int8 per block of 32 (faster), f32 = float (default: MTPKIT_ACTIVATIONS or q8)',
    })
    .coerce('activations', (v: unknown) => (v === undefined ? undefined : parseActivations(v, '--activations'))) as Argv<T>;
}
