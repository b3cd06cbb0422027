/**
 * `mtpkit validate`: checks an MLX artifact folder end to end without loading it: index vs shards,
 * every byte of every shard read (streamed, one file at a time) and every float tensor scanned for
 * NaN / Inf on the way, config.json and its quantization
 * blocks vs the tensors, the MTP head's tensor set and norms, and the runtime contract.
 * Problems name the file and the tensor / field; nothing here throws on bad artifacts.
 */
import { createHash } from 'crypto';
import { createReadStream, promises as fsp } from 'fs';
import * as path from 'path';
import { MtpkitError } from '../errors';
import { SafetensorsFile } from '../safetensors/reader';
import { readIndexFile, checkRelativePath, type IndexFile } from '../safetensors/index-file';
import { INDEX_FILE_NAME } from '../safetensors/shard-names';
import type { TensorInfo } from '../safetensors/types';
import { parseTextConfig, type TextConfig } from '../arch/text-config';
import { isZeroCentredNorm } from '../plan/norm-suffixes';
import { decodeFloats } from '../quant/kernels/float-io';
import { MTP_SIDECAR_CANDIDATES } from '../arch/mtp-key-sets';
import { checkQuantization } from './validate-quantization';
import { checkMtpTensors, checkNormEncoding, listSome, type MtpPlacement } from './validate-mtp';
import { checkContractFile } from './validate-contract';
import { checkArtifactFiles } from './artifact-files';
import { checkTensorSet } from './validate-tensor-set';
import { parseModelDims } from '../arch/parse-model-dims';
import type { ModelDims } from '../arch/model-dims';
import { notAFile } from './file-kind';
import { NonFiniteStreamScan, type NonFiniteFinding } from './non-finite-stream';
import { coordinatesOf } from '../numeric/non-finite';

export interface ValidatedFile {
  file: string;
  size: number;
  sha256: string;
}

export interface ValidationReport {
  dir: string;
  /** True when there is no problem (info lines do not count). */
  ok: boolean;
  /** Each names the file and the tensor / field. */
  problems: string[];
  /** Heuristic or unverifiable findings worth a look; they do not fail validation. */
  warnings: string[];
  /** Facts worth knowing that are not defects (e.g. MTPLX will label the artifact unverified). */
  info: string[];
  /** Tensors in the trunk / vision shards plus the sidecar. */
  tensors: number;
  mtp: { layout: MtpPlacement; tensors: number; file?: string };
  /** Every safetensors file read in full, with its sha256. */
  files: ValidatedFile[];
}

export interface ValidateOptions {
  /** Norm-encoding heuristic (default on). */
  normCheck?: boolean;
  /** NaN / Inf scan of every float tensor (default on; off only to measure its cost, bench/validate-scan.ts). */
  finiteCheck?: boolean;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** mlx-lm loads every file matching `model*.safetensors` (its glob); such files must be in the index. */
const MLX_GLOB = /^model.*\.safetensors$/;
const READ_CHUNK = 8 << 20;

async function exists(p: string): Promise<boolean> {
  return fsp.stat(p).then((s) => s.isFile(), () => false);
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

async function readJsonFile(dir: string, rel: string, problems: string[]): Promise<Json | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(path.join(dir, rel), 'utf8');
  } catch (e) {
    problems.push((e as NodeJS.ErrnoException).code === 'ENOENT' ? `${rel}: missing` : `${rel}: cannot read (${errorText(e)})`);
    return undefined;
  }
  try {
    const v = JSON.parse(text);
    if (!isObj(v)) {
      problems.push(`${rel}: must be a JSON object`);
      return undefined;
    }
    return v;
  } catch (e) {
    problems.push(`${rel}: invalid JSON (${errorText(e)})`);
    return undefined;
  }
}

/** At most this many tensors with NaN / Inf are named one per line; the rest in one summary line. */
const NON_FINITE_LINES = 5;

function nonFiniteProblems(rel: string, found: NonFiniteFinding[]): string[] {
  const lines = found.slice(0, NON_FINITE_LINES).map((f) => {
    const at = `element ${f.index} (index [${coordinatesOf(f.index, f.shape).join(', ')}] of ${f.dtype === 'E8M0' ? 'U8' : f.dtype}[${f.shape.join(', ')}])`;
    return f.dtype === 'E8M0'
      ? `${rel}: tensor '${f.tensor}' holds scale byte 0xFF at ${at}, which E8M0 reserves for NaN: the group dequantizes to non-finite values`
      : `${rel}: tensor '${f.tensor}' holds ${f.kind} at ${at}; weights must be finite`;
  });
  const rest = found.slice(NON_FINITE_LINES).map((f) => f.tensor);
  if (rest.length) lines.push(`${rel}: ${rest.length} more tensor(s) hold NaN / Inf: ${listSome(rest)}`);
  return lines;
}

/**
 * Reads a whole shard front to back (bounded chunks), hashing it, checking every tensor's bytes
 * arrive and every float tensor is finite; keeps the data of the tensors `keep` selects (small norms).
 */
async function scanFile(
  absPath: string,
  rel: string,
  sf: SafetensorsFile,
  keep: (t: TensorInfo) => boolean,
  finite: { check: boolean; e8m0: ReadonlySet<string> },
  problems: string[],
): Promise<{ file: ValidatedFile; kept: Map<string, Buffer> } | undefined> {
  const hash = createHash('sha256');
  const ordered = [...sf.tensors.values()].sort((a, b) => a.offset - b.offset);
  const kept = new Map<string, Buffer>();
  // One scan thread: it runs beside the sha256 on this thread, which is several times slower, so more
  // threads only compete with the hash for cores (measured: 2 threads on 2 cores made validate slower).
  const scan = new NonFiniteStreamScan(finite.check ? ordered : [], 1, finite.e8m0);
  let pos = 0;
  try {
    for await (const raw of createReadStream(absPath, { highWaterMark: READ_CHUNK })) {
      const chunk = raw as Buffer;
      const scanned = scan.feed(chunk, pos); // native threads scan while this thread hashes
      hash.update(chunk);
      await scanned;
      pos += chunk.length;
    }
  } catch (e) {
    problems.push(`${rel}: read failed after ${pos} bytes (${errorText(e)})`);
    return undefined;
  }
  problems.push(...nonFiniteProblems(rel, scan.findings()));
  if (pos !== sf.fileSize) {
    const broken = ordered.find((t) => t.offset + t.byteLength > pos);
    const at = broken ? `: tensor '${broken.name}' is incomplete` : '';
    problems.push(`${rel}: read ${pos} bytes but the header describes ${sf.fileSize}${at}`);
    return undefined;
  }
  // Small tensors the checks need, by positional reads (the stream above proved they are readable).
  for (const t of ordered) if (keep(t)) kept.set(t.name, await sf.readTensor(t.name));
  return { file: { file: rel, size: pos, sha256: hash.digest('hex') }, kept };
}

async function openShard(dir: string, rel: string, problems: string[]): Promise<SafetensorsFile | undefined> {
  try {
    return await SafetensorsFile.open(path.join(dir, rel), rel);
  } catch (e) {
    const msg = errorText(e);
    problems.push(msg.includes(rel) ? msg.replace(path.join(dir, rel), rel) : `${rel}: ${msg}`);
    return undefined;
  }
}

/** Which file holds the sidecar: the one config.json names, else MTPLX's default names. */
async function findSidecar(dir: string, config: Json | undefined, problems: string[]): Promise<string | undefined> {
  const extra = config && isObj(config.mlx_lm_extra_tensors) ? config.mlx_lm_extra_tensors : undefined;
  if (extra && extra.mtp_file !== undefined) {
    try {
      const rel = checkRelativePath(extra.mtp_file, { file: 'config.json', field: 'mlx_lm_extra_tensors.mtp_file' });
      const kind = await notAFile(path.join(dir, rel));
      if (!kind) return rel;
      if (typeof extra.mtp_file === 'string') {
        problems.push(`config.json: mlx_lm_extra_tensors.mtp_file names '${rel}', which ${kind === 'missing' ? 'does not exist' : `is ${kind}`}`);
      }
    } catch (e) {
      problems.push(errorText(e));
    }
    return undefined;
  }
  for (const c of MTP_SIDECAR_CANDIDATES) if (await exists(path.join(dir, c))) return c;
  return undefined;
}

function meanOf(buf: Buffer, t: TensorInfo): number | undefined {
  if (t.dtype !== 'BF16' && t.dtype !== 'F16' && t.dtype !== 'F32') return undefined;
  const v = decodeFloats(buf, t.dtype);
  if (!v.length) return undefined;
  let s = 0;
  for (const x of v) s += x;
  return s / v.length;
}

export async function validateArtifact(dir: string, opts: ValidateOptions = {}): Promise<ValidationReport> {
  const problems: string[] = [];
  const info: string[] = [];
  const files: ValidatedFile[] = [];
  const warnings: string[] = [];
  const report = (mtp: ValidationReport['mtp'], tensors: number): ValidationReport => {
    // Heuristics report with a `warning: ` prefix; they are listed but do not fail the artifact.
    const isWarning = (p: string) => p.startsWith('warning: ');
    warnings.push(...problems.filter(isWarning).map((p) => p.slice('warning: '.length)));
    const real = problems.filter((p) => !isWarning(p));
    return { dir, ok: real.length === 0, problems: real, warnings, info, tensors, mtp, files };
  };

  const st = await fsp.stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) {
    problems.push(`${dir}: not a folder`);
    return report({ layout: 'none', tensors: 0 }, 0);
  }

  // config.json and the architecture.
  const config = await readJsonFile(dir, 'config.json', problems);
  let text: TextConfig | undefined;
  let dims: ModelDims | undefined;
  if (config) {
    try {
      text = parseTextConfig(config, 'config.json');
      dims = parseModelDims(config, 'config.json');
    } catch (e) {
      problems.push(errorText(e));
    }
  }
  if (!(await exists(path.join(dir, 'tokenizer.json')))) problems.push('tokenizer.json: missing (MTPLX requires it; mlx-lm needs a tokenizer)');
  const membership = await checkArtifactFiles(dir);
  problems.push(...membership.problems);
  info.push(...membership.info);

  // The index and the files on disk.
  let index: IndexFile | undefined;
  if (await exists(path.join(dir, INDEX_FILE_NAME))) {
    try {
      index = await readIndexFile(dir);
    } catch (e) {
      problems.push(errorText(e).replace(path.join(dir, INDEX_FILE_NAME), INDEX_FILE_NAME));
    }
  } else {
    problems.push(`${INDEX_FILE_NAME}: missing (mlx-lm always writes one; MTPLX requires it)`);
  }
  const onDisk = (await fsp.readdir(dir, { withFileTypes: true })).filter((d) => d.isFile()).map((d) => d.name);
  const sidecarFile = await findSidecar(dir, config, problems);
  if (sidecarFile && MLX_GLOB.test(sidecarFile)) {
    problems.push(`${sidecarFile}: the sidecar name matches model*.safetensors, so mlx-lm would load the head as trunk weights`);
  }
  const globbed = onDisk.filter((n) => MLX_GLOB.test(n) && n !== sidecarFile);
  let trunkFiles: string[];
  if (index) {
    trunkFiles = [];
    for (const shard of index.shards) {
      if (shard === sidecarFile) problems.push(`${INDEX_FILE_NAME}: lists the MTP sidecar '${shard}'; the sidecar must stay out of the index`);
      else {
        const kind = await notAFile(path.join(dir, shard));
        if (kind) problems.push(`${INDEX_FILE_NAME}: names shard '${shard}', which is ${kind}`);
        else trunkFiles.push(shard);
      }
    }
    for (const n of globbed) if (!index.shards.includes(n)) problems.push(`${n}: on disk but not in ${INDEX_FILE_NAME} (mlx-lm loads every model*.safetensors)`);
  } else {
    trunkFiles = globbed.sort();
  }
  const others = onDisk.filter((n) => n.endsWith('.safetensors') && !MLX_GLOB.test(n) && n !== sidecarFile);
  if (others.length) info.push(`${listSome(others)}: safetensors file(s) no loader reads`);

  // Headers, index cross-check.
  const trunk = new Map<string, TensorInfo>();
  const opened: { rel: string; sf: SafetensorsFile }[] = [];
  try {
    for (const rel of trunkFiles) {
      const sf = await openShard(dir, rel, problems);
      if (!sf) continue;
      opened.push({ rel, sf });
      if (sf.metadata.format !== 'mlx') info.push(`${rel}: safetensors metadata format is ${JSON.stringify(sf.metadata.format)}, mlx-lm writes "mlx"`);
      for (const [name, t] of sf.tensors) {
        const prior = trunk.get(name);
        if (prior) problems.push(`${rel}: tensor '${name}' is also in '${prior.shard}'`);
        else trunk.set(name, t);
      }
    }
    // Tensors of shards that are missing or unreadable: reported once, not judged again.
    const unavailable = new Set<string>();
    if (index) {
      const openedNames = new Set(opened.map((o) => o.rel));
      for (const [name, shard] of index.weightMap) if (!openedNames.has(shard)) unavailable.add(name);
      const notInShard: string[] = [];
      const notInIndex: string[] = [];
      for (const [name, shard] of index.weightMap) {
        if (!openedNames.has(shard)) continue; // already reported (missing or unreadable shard)
        const t = trunk.get(name);
        if (!t || t.shard !== shard) notInShard.push(`'${name}' -> '${shard}'${t ? ` (it is in '${t.shard}')` : ''}`);
      }
      for (const [name, t] of trunk) if (index.weightMap.get(name) !== t.shard) notInIndex.push(`'${name}' in '${t.shard}'`);
      if (notInShard.length) problems.push(`${INDEX_FILE_NAME}: ${notInShard.length} tensor(s) not in the shard the index names: ${listSome(notInShard, 5, false)}`);
      if (notInIndex.length) problems.push(`${INDEX_FILE_NAME}: ${notInIndex.length} shard tensor(s) missing from weight_map: ${listSome(notInIndex, 5, false)}`);
      const total = index.metadata.total_size;
      const bytes = [...trunk.values()].reduce((a, t) => a + t.byteLength, 0);
      if (typeof total === 'number' && opened.length === index.shards.length && total !== bytes) {
        problems.push(`${INDEX_FILE_NAME}: metadata.total_size is ${total}, the shards' tensors sum to ${bytes} bytes`);
      }
    }

    let sidecar: { file: string; tensors: Map<string, TensorInfo> } | undefined;
    if (sidecarFile) {
      const sf = await openShard(dir, sidecarFile, problems);
      if (sf) {
        opened.push({ rel: sidecarFile, sf });
        sidecar = { file: sidecarFile, tensors: new Map(sf.tensors) };
      }
    }

    // The quantization specs say which U8 scales are E8M0 (mx modes, group size 32), for the finite scan.
    const q = config ? checkQuantization({ config, trunk, sidecar, unavailable }) : undefined;
    const e8m0 = new Set([...(q?.specs ?? [])].filter(([, s]) => s.mode.startsWith('mx') && s.groupSize === 32).map(([m]) => `${m}.scales`));
    const finite = { check: opts.finiteCheck !== false, e8m0 };

    // Every byte of every file; keep the zero-centred norms for the encoding heuristic.
    const means = new Map<string, number>();
    const fileOf = new Map<string, string>();
    for (const { rel, sf } of opened) {
      const scanned = await scanFile(path.join(dir, rel), rel, sf, (t) => isZeroCentredNorm(t.name, t.shape), finite, problems);
      if (!scanned) continue;
      files.push(scanned.file);
      for (const [name, buf] of scanned.kept) {
        const m = meanOf(buf, sf.tensors.get(name)!);
        if (m !== undefined) {
          means.set(name, m);
          fileOf.set(name, rel);
        }
      }
    }

    let mtpResult: ValidationReport['mtp'] = { layout: 'none', tensors: 0 };
    if (config && q) {
      problems.push(...q.problems);
      info.push(...q.info);
      if (text) {
        const m = checkMtpTensors({ text, config, trunk, sidecar, specs: q.specs, unavailable });
        problems.push(...m.problems);
        info.push(...m.info);
        mtpResult = { layout: m.layout, tensors: m.tensors, ...(m.layout === 'sidecar' ? { file: sidecarFile } : {}) };
        if (dims) problems.push(...checkTensorSet({ dims, trunk, sidecar, mtp: m.layout, specs: q.specs, unavailable }));
      }
      if (opts.normCheck !== false) problems.push(...checkNormEncoding(means, config, (n) => fileOf.get(n) ?? '?'));
    }

    const contract = await checkContractFile(dir, { config, mtp: mtpResult, files });
    problems.push(...contract.problems);
    warnings.push(...contract.warnings);
    info.push(...contract.info);
    if (unavailable.size) info.push(`${unavailable.size} tensor(s) of missing or unreadable shards were not checked further`);
    return report(mtpResult, trunk.size + (sidecar?.tensors.size ?? 0));
  } catch (e) {
    // Only unexpected failures get here (I/O errors outside the checks above).
    throw e instanceof MtpkitError ? e : new MtpkitError(`validation failed: ${errorText(e)}`, { file: dir });
  } finally {
    await Promise.all(opened.map((o) => o.sf.close().catch(() => undefined)));
  }
}
