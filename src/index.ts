/**
 * mtpkit's programmatic API: open a checkpoint, plan a conversion, convert, graft an MTP head onto an
 * MLX trunk, validate an artifact, publish it. Every function takes one typed options object; bad input
 * raises InputError (the CLI's exit 2), other failures MtpkitError (exit 1).
 */
import { openSource as openCheckpoint } from './source/open-source';
import type { CheckpointSource } from './source/checkpoint-source';
import type { HubConfigOptions } from './hub/hub-config';
import { resolveHubConfig } from './hub/hub-config';
import { buildConversionPlan, type ConversionPlan, type PlanOptions } from './convert/conversion-plan';
import { runConvert, type ConvertOptions, type ConvertSummary } from './convert/pipeline';
import { runGraft, type GraftOptions } from './convert/graft';
import { validateArtifact, type ValidateOptions, type ValidationReport } from './artifact/validate-artifact';
import { publishArtifact, type PublishOptions, type PublishResult } from './hub/publish';
import { artifactMembers } from './artifact/artifact-files';

export { InputError, MtpkitError } from './errors';
export type { CheckpointSource, ConversionPlan, ConvertOptions, ConvertSummary, GraftOptions, HubConfigOptions, PlanOptions, ValidateOptions, ValidationReport, PublishResult };
export type { PlannedTensor, QuantDecision } from './plan/types';

export interface OpenSourceOptions {
  /** A checkpoint folder, or `org/name[@revision]` on the Hub. */
  source: string;
  hub?: HubConfigOptions;
}

/** Opens a checkpoint (headers only); the caller closes it. */
export function openSource(opts: OpenSourceOptions): Promise<CheckpointSource> {
  return openCheckpoint(opts.source, opts.hub);
}

export interface PlanConversionOptions extends PlanOptions {
  /** A checkpoint folder, or `org/name[@revision]` on the Hub. */
  source: string;
  hub?: HubConfigOptions;
}

/** The conversion plan of a checkpoint, from its config and headers only (what `mtpkit plan` prints). */
export async function plan(opts: PlanConversionOptions): Promise<ConversionPlan> {
  const { source, hub, ...planOpts } = opts;
  const src = await openCheckpoint(source, hub);
  try {
    return buildConversionPlan(src.label, await src.readJson<Record<string, unknown>>('config.json'), src.tensors, planOpts);
  } finally {
    await src.close();
  }
}

/** Converts a checkpoint into an MLX artifact folder (`mtpkit convert`). */
export function convert(opts: ConvertOptions): Promise<ConvertSummary> {
  return runConvert(opts);
}

/** Adds an original checkpoint's MTP head to an MLX trunk (`mtpkit graft`). */
export function graft(opts: GraftOptions): Promise<ConvertSummary> {
  return runGraft(opts);
}

export interface ValidateArtifactOptions extends ValidateOptions {
  /** The artifact folder. */
  artifact: string;
}

/** Checks an artifact folder (`mtpkit validate`); problems are listed in the report, not thrown. */
export function validate(opts: ValidateArtifactOptions): Promise<ValidationReport> {
  const { artifact, ...rest } = opts;
  return validateArtifact(artifact, rest);
}

export interface PublishArtifactOptions extends Omit<PublishOptions, 'config' | 'validate'> {
  /** The artifact folder. */
  artifact: string;
  hub?: HubConfigOptions;
}

/** Uploads an artifact in one commit; refuses one that fails validation unless `force` (`mtpkit publish`). */
export async function publish(opts: PublishArtifactOptions): Promise<PublishResult> {
  const { artifact, hub, ...rest } = opts;
  return publishArtifact(artifact, {
    ...rest,
    config: resolveHubConfig(hub ?? {}),
    files: await artifactMembers(artifact),
    validate: async () => (await validateArtifact(artifact)).problems,
  });
}
