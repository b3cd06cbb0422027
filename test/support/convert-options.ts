/** Default options of a test conversion: policy none, vision dropped, head kept, Metal rounding. */
import type { ConvertOptions } from '../../src/convert/pipeline';

export function convertOptions(source: string, out: string, extra: Partial<ConvertOptions> = {}): ConvertOptions {
  return { source, out, force: false, rounding: 'metal', vision: 'drop', mtp: 'keep', policy: { spec: 'none' }, ...extra };
}
