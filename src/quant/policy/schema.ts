/**
 * Validates policy JSON against schemas/policy.schema.json and turns ajv's errors into one line that points
 * at the offending field, e.g. `policy 'my.json': rules[3].match.layers: must be a range string like ...`.
 */
import Ajv, { ErrorObject, ValidateFunction } from 'ajv';
import { InputError } from '../../errors';
import schema from '../../../schemas/policy.schema.json';
import type { PolicyFile } from './types';
import { pointerToField, valueAt } from '../../json-pointer';

let validator: ValidateFunction | undefined;

function getValidator(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv({ allErrors: false, verbose: true, strict: true });
    validator = ajv.compile(schema);
  }
  return validator;
}

/** Picks the most telling error: the deepest path; there an enum, then a described oneOf, then the first. */
function pickError(errors: ErrorObject[]): ErrorObject {
  const depth = (e: ErrorObject) => (e.instancePath ? e.instancePath.split('/').length : 0);
  const max = Math.max(...errors.map(depth));
  const deepest = errors.filter((e) => depth(e) === max);
  return (
    deepest.find((e) => e.keyword === 'enum') ??
    deepest.find((e) => e.keyword === 'oneOf' && typeof e.parentSchema?.description === 'string') ??
    deepest.find((e) => e.keyword === 'additionalProperties' || e.keyword === 'required') ??
    deepest[0]
  );
}

function describeError(e: ErrorObject, doc: unknown): string {
  const got = ` (got ${JSON.stringify(valueAt(doc, e.instancePath))})`;
  switch (e.keyword) {
    case 'additionalProperties':
      return `unknown field '${(e.params as { additionalProperty: string }).additionalProperty}'`;
    case 'required':
      return `missing required field '${(e.params as { missingProperty: string }).missingProperty}'`;
    case 'enum':
      return `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}${got}`;
    case 'oneOf':
      return `must be ${e.parentSchema?.description ?? 'one of the allowed forms'}${got}`;
    default:
      return `${e.message ?? 'is invalid'}${got}`;
  }
}

/** Throws InputError naming the policy and the field; returns the document typed on success. */
export function validatePolicyFile(doc: unknown, label: string): PolicyFile {
  const validate = getValidator();
  if (validate(doc)) return doc as PolicyFile;
  const err = pickError(validate.errors ?? []);
  throw new InputError(`policy '${label}': ${pointerToField(err.instancePath)}: ${describeError(err, doc)}`);
}
