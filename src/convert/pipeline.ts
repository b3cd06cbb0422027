/**
 * `mtpkit convert`: plan from headers, execute tensor by tensor into a hidden sibling folder,
 * write index/config/assets, then rename onto the output path.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { writeIndexFile } from '../safetensors/index-file';
import { writeFileAtomic } from '../safetensors/writer';
import { DEFAULT_MAX_SHARD_BYTES } from '../safetensors/shard-plan';
import { numel } from '../safetensors/types';
import { buildConversionPlan, type ConversionPlan, type PlanOptions } from './conversion-plan';
import { layoutShards, toShardPlan, trunkShardName, visionShardName, type FileLayout } from './shard-layout';
import { executeLayouts, type ExecuteProgress } from './execute-plan';
import { buildOutputConfig, formatConfigJson } from './output-config';
import { copyAssets } from './assets';
import { openSource } from './open-source';
import { planReads } from './plan-reads';
import type { HubConfigOptions } from '../hub/hub-config';
import { checkOutputPath, partialDirFor, publishDir } from './atomic-dir';

export interface ConvertOptions extends PlanOptions {
  source: string;
  out: string;
  force: boolean;
  threads?: number;
  rounding: 'metal' | 'cpu';
  maxShardBytes?: number;
  onProgress?: (p: ExecuteProgress) => void;
  hub?: HubConfigOptions;
}

export interface ConvertSummary {
  out: string;
  files: string[];
  tensors: number;
  bytesWritten: number;
  seconds: number;
  warnings: string[];
  reports: string[];
}

/** Parameters counted as mlx-lm does: a quantized weight at its unpacked size. */
export function totalParameters(plan: ConversionPlan): number {
  return plan.tensors.filter((t) => t.quant?.action !== 'drop').reduce((a, t) => a + numel(t.shape), 0);
}

export function layoutPlan(plan: ConversionPlan, maxShardBytes = DEFAULT_MAX_SHARD_BYTES): FileLayout[] {
  const main = plan.tensors.filter((t) => t.group !== 'vision');
  const vision = plan.tensors.filter((t) => t.group === 'vision');
  const layouts = [layoutShards(main, maxShardBytes, trunkShardName)];
  if (vision.length) layouts.push(layoutShards(vision, maxShardBytes, visionShardName));
  return layouts;
}

export async function runConvert(opts: ConvertOptions): Promise<ConvertSummary> {
  const started = Date.now();
  const src = await openSource(opts.source, opts.hub);
  try {
    await checkOutputPath(opts.out, opts.force, src.localDir ? [src.localDir] : []);
    const config = await src.readJson<Record<string, unknown>>('config.json');
    const plan = buildConversionPlan(src.label, config, src.tensors, opts);
    const layouts = layoutPlan(plan, opts.maxShardBytes);

    const partial = partialDirFor(opts.out);
    await fsp.rm(partial, { recursive: true, force: true });
    await fsp.mkdir(partial, { recursive: true });
    try {
      await src.prepare(planReads(plan.tensors));
      const result = await executeLayouts(src, layouts, partial, {
        threads: opts.threads,
        rounding: opts.rounding,
        onProgress: opts.onProgress,
      });
      await writeIndexFile(partial, toShardPlan(layouts), totalParameters(plan));
      const outConfig = buildOutputConfig(plan.config, {
        keepVision: opts.vision === 'keep',
        text: { ...plan.sanitize.configPatch },
        quantization: plan.quantization,
      });
      await writeFileAtomic(path.join(partial, 'config.json'), formatConfigJson(outConfig));
      const assets = await copyAssets(src, partial);
      await publishDir(partial, opts.out);
      return {
        out: opts.out,
        files: [...result.files, 'model.safetensors.index.json', 'config.json', ...assets],
        tensors: layouts.reduce((a, l) => a + l.shards.reduce((b, s) => b + s.units.reduce((c, u) => c + u.specs.length, 0), 0), 0),
        bytesWritten: result.bytesWritten,
        seconds: (Date.now() - started) / 1000,
        warnings: result.warnings,
        reports: plan.reports,
      };
    } catch (err) {
      await fsp.rm(partial, { recursive: true, force: true });
      throw err;
    }
  } finally {
    await src.close();
  }
}
