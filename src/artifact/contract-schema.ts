/**
 * Checks a parsed `mtplx_runtime.json` against schemas/runtime-contract.schema.json. Every message names
 * the file and the JSON pointer of the field, e.g. `mtplx_runtime.json: /mtp_depth_max: must be > 0`.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import schema from '../../schemas/runtime-contract.schema.json';
import { valueAt } from '../json-pointer';

let validator: ValidateFunction | undefined;

function getValidator(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, verbose: true, strict: true, strictRequired: false, allowUnionTypes: true });
    validator = ajv.compile(schema);
  }
  return validator;
}


function describe(e: ErrorObject, doc: unknown): { pointer: string; message: string } {
  const got = ` (got ${JSON.stringify(valueAt(doc, e.instancePath)) ?? 'nothing'})`;
  switch (e.keyword) {
    case 'required': {
      const key = (e.params as { missingProperty: string }).missingProperty;
      return { pointer: `${e.instancePath}/${key}`, message: 'missing required key' };
    }
    case 'enum':
      return {
        pointer: e.instancePath || '/',
        message: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}${got}`,
      };
    case 'anyOf':
    case 'pattern':
      return {
        pointer: e.instancePath || '/',
        message: `${typeof e.parentSchema?.description === 'string' ? `must be ${e.parentSchema.description}` : e.message}${got}`,
      };
    case 'additionalProperties':
      return { pointer: e.instancePath || '/', message: `unknown key '${(e.params as { additionalProperty: string }).additionalProperty}'` };
    default:
      return { pointer: e.instancePath || '/', message: `${e.message ?? 'is invalid'}${got}` };
  }
}

/**
 * Problems of `obj` as a runtime contract (empty when valid). `file` prefixes every message.
 * Sub-errors of an anyOf are folded into the anyOf message.
 */
export function validateRuntimeContract(obj: unknown, file: string): string[] {
  const validate = getValidator();
  if (validate(obj)) return [];
  const errors = validate.errors ?? [];
  const anyOfPaths = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.schemaPath.replace(/\/anyOf$/, '/anyOf/'));
  const out = new Set<string>();
  for (const e of errors) {
    if (anyOfPaths.some((p) => e.schemaPath.startsWith(p))) continue;
    const d = describe(e, obj);
    out.add(`${file}: ${d.pointer}: ${d.message}`);
  }
  return [...out];
}
