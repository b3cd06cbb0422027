/**
 * The runtime contract of an artifact: present, schema-valid, consistent with config.json and the
 * files on disk. Blockers (pending smoke test, ...) are information: MTPLX still runs such artifacts.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { RUNTIME_CONTRACT_FILE, MTPLX_ARCH_ID } from './contract';
import { validateRuntimeContract } from './contract-schema';
import { contractBlockers } from './contract-blockers';
import { sha256File } from '../checksum/checksums';
import type { MtpPlacement } from './validate-mtp';
import { evidenceFileNames, judgeEvidence } from './contract-evidence';
import { checkGraftPairing } from './graft-record';
import { notAFile } from './file-kind';

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ContractCheckInput {
  config: Json | undefined;
  mtp: { layout: MtpPlacement; file?: string };
  /** Files already hashed by the scan. */
  files: { file: string; size: number; sha256: string }[];
}

export interface ContractCheck {
  problems: string[];
  warnings: string[];
  info: string[];
}

export async function checkContractFile(dir: string, input: ContractCheckInput): Promise<ContractCheck> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const info: string[] = [];
  const f = RUNTIME_CONTRACT_FILE;
  let doc: unknown;
  try {
    doc = JSON.parse(await fsp.readFile(path.join(dir, f), 'utf8'));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    // Without a head the artifact is a plain mlx-lm one: there is nothing for MTPLX to run or verify.
    if (missing && input.mtp.layout === 'none') info.push(`${f}: none, as expected without an MTP head (judged as an mlx-lm artifact)`);
    else problems.push(missing ? `${f}: missing (MTPLX needs it to call the artifact verified)` : `${f}: invalid JSON (${(e as Error).message})`);
    return { problems, warnings, info };
  }
  const schemaProblems = validateRuntimeContract(doc, f);
  problems.push(...schemaProblems);
  if (!isObj(doc)) return { problems, warnings, info };

  for (const b of contractBlockers(doc)) info.push(`${f}: MTPLX will label the artifact unverified: ${b}`);
  if (typeof doc.arch_id === 'string' && doc.arch_id !== MTPLX_ARCH_ID) info.push(`${f}: arch_id is '${doc.arch_id}', mtpkit writes '${MTPLX_ARCH_ID}'`);

  // Where the head is must agree with what the contract tells MTPLX.
  const mtpFile = doc.mtp_file ?? doc.mtp_sidecar_file;
  if (mtpFile !== undefined) {
    if (input.mtp.layout !== 'sidecar') problems.push(`${f}: mtp_file names '${String(mtpFile)}' but the artifact has no MTP sidecar (layout: ${input.mtp.layout})`);
    else if (mtpFile !== input.mtp.file) problems.push(`${f}: mtp_file is '${String(mtpFile)}' but the sidecar is '${input.mtp.file}'`);
  }

  // The contract's MTP quantization must be the config's (MTPLX merges both; the runtime JSON wins).
  const mc = isObj(doc.mtp_contract) ? doc.mtp_contract : undefined;
  const mq = input.config && isObj(input.config.mtplx_mtp_quantization) ? input.config.mtplx_mtp_quantization : undefined;
  if (mc && mq) {
    for (const [ck, qk] of [['mtp_quant_bits', 'bits'], ['mtp_quant_group_size', 'group_size'], ['mtp_quant_mode', 'mode']] as const) {
      if (mc[ck] !== undefined && mq[qk] !== undefined && mc[ck] !== mq[qk]) {
        problems.push(`${f}: mtp_contract.${ck} is ${JSON.stringify(mc[ck])} but config.json mtplx_mtp_quantization.${qk} is ${JSON.stringify(mq[qk])}`);
      }
    }
  }
  if (mc && mc.mtp_prequantized === true && !mq) {
    problems.push(`${f}: mtp_contract says the head is prequantized but config.json has no mtplx_mtp_quantization block`);
  }

  // Output checksums recorded at write time must still hold.
  const prov = isObj(doc.mtpkit_provenance) ? doc.mtpkit_provenance : undefined;
  const recorded = prov && Array.isArray(prov.output_checksums) ? prov.output_checksums : [];
  const known = new Map(input.files.map((x) => [x.file, x]));
  let verified = 0;
  for (const c of recorded) {
    if (!isObj(c) || typeof c.file !== 'string') continue;
    let actual = known.get(c.file);
    if (!actual) {
      // Never open a FIFO or a device to hash it: the read would block or never end.
      const kind = await notAFile(path.join(dir, c.file));
      if (kind && kind !== 'missing') {
        problems.push(`${f}: output_checksums lists '${c.file}', which is ${kind}`);
        continue;
      }
      try {
        actual = { file: c.file, ...(await sha256File(path.join(dir, c.file))) };
      } catch {
        problems.push(`${f}: output_checksums lists '${c.file}', which is missing or unreadable`);
        continue;
      }
    }
    if (c.size !== actual.size) problems.push(`${c.file}: size ${actual.size} differs from the ${c.size} bytes recorded in ${f}`);
    else if (typeof c.sha256 === 'string' && c.sha256 !== actual.sha256) problems.push(`${c.file}: sha256 differs from the one recorded in ${f} (modified after conversion?)`);
    else verified++;
  }
  if (recorded.length) info.push(`${f}: ${verified} of ${recorded.length} recorded output checksums match`);

  // What each claimed status rests on (files hashed once: the scan's, then the small rest).
  const actual = new Map<string, { size: number; sha256: string }>();
  for (const name of await evidenceFileNames(dir)) {
    const k = known.get(name);
    actual.set(name, k ? { size: k.size, sha256: k.sha256 } : await sha256File(path.join(dir, name)));
  }
  // Older conversions recorded the source folder's absolute path: it leaks user and folder names when published.
  const src = prov && isObj(prov.source) ? prov.source : undefined;
  if (src && typeof src.path === 'string' && (path.isAbsolute(src.path) || /^[A-Za-z]:[\\/]/.test(src.path))) {
    warnings.push(`${f}: mtpkit_provenance.source.path is a local absolute path ('${src.path}'); published, it shows user and folder names (re-convert: the folder's base name and file checksums are recorded instead)`);
  }
  if (prov?.graft !== undefined) {
    const pairing = checkGraftPairing(prov.graft, (name) => actual.get(name)?.sha256, f);
    problems.push(...pairing);
    if (!pairing.length) info.push(`${f}: the MTP head and the trunk are the pair the graft recorded (content sha256)`);
  }
  const ev = judgeEvidence(doc, actual, f);
  problems.push(...ev.problems);
  warnings.push(...ev.warnings);
  info.push(...ev.info);
  return { problems, warnings, info };
}
