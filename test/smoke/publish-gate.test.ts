/**
 * The publish gate refuses what MTPLX would label unverified (mtp-runtime-contract §6): the converter's
 * pending status, every failing status a smoke writes, every speed verdict that is not a win (also
 * when the smoke itself passed), public_release_blocker; and lets a passing, winning contract through.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { contractWithSmoke } from '../../src/smoke/contract-update';
import { unverifiedReasons } from '../../src/smoke/publish-gate';
import type { SmokeReport, SmokeStatus } from '../../src/smoke/run-smoke';
import { runCli } from '../support/run-cli';

let root: string;
beforeAll(() => (root = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-publish-gate-'))));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

let n = 0;
function artifactWith(contract: unknown): string {
  const dir = path.join(root, `a${n++}`);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'mtplx_runtime.json'), typeof contract === 'string' ? contract : JSON.stringify(contract));
  return dir;
}

/** A smoke report as runSmoke returns it: one prompt, depth 1. */
function report(status: SmokeStatus, verdict: SmokeReport['verdict']): SmokeReport {
  return {
    artifact: 'x',
    status,
    exitCode: status === 'passed' ? 0 : 1,
    reasons: status === 'passed' ? [] : ['a reason'],
    audit: { ok: status !== 'fail_head_audit', findings: [], mtpTensors: 10, norms: [], quantBits: {} },
    prompts: ['code'],
    maxTokens: 8,
    arTokS: 10,
    depths: [{ depth: 1, identity: status !== 'fail_exactness', matches: 1, acceptanceByPosition: [0.9], draftAcceptance: 0.9, meanAcceptedLength: 1.9, histogram: [1, 9], mtpTokS: 12, speedup: 1.2, collapsed: false }],
    verdict,
    engine: { name: 'e', version: '0', cpu: 'c', threads: 1, activations: 'q8', platform: 'linux', arch: 'x64' },
    seconds: 1,
  };
}

const BASE = { schema_version: 1, mtp_contract: { base_hidden_variant: 'post_norm' }, exactness_baseline: { status: 'pending_smoke_test' } };

test('a passing smoke whose best depth beat plain decoding is publishable', async () => {
  expect(await unverifiedReasons(artifactWith(contractWithSmoke(BASE, report('passed', 'mtp_depth_wins'))))).toEqual([]);
});

test('no contract (no MTP head) is not gated; an unreadable one is', async () => {
  const none = path.join(root, 'none');
  fs.mkdirSync(none);
  expect(await unverifiedReasons(none)).toEqual([]);
  expect((await unverifiedReasons(artifactWith('{ nope'))).join()).toMatch(/not valid JSON/);
});

test.each([
  ['the converter\'s pending status', BASE, /exactness_baseline\.status is 'pending_smoke_test'/],
  ['a failed head audit', contractWithSmoke(BASE, report('fail_head_audit', undefined)), /exactness_baseline\.status is 'fail_head_audit'/],
  ['a failed identity', contractWithSmoke(BASE, report('fail_exactness', 'mtp_depth_wins')), /status is 'fail_exactness'/],
  ['collapsed acceptance', contractWithSmoke(BASE, report('fail_acceptance_collapsed', 'mtp_acceptance_collapsed')), /verdict is 'mtp_acceptance_collapsed'/],
  ['a passing smoke where no depth beat AR', contractWithSmoke(BASE, report('passed', 'no_mtp_depth_beat_ar')), /verdict is 'no_mtp_depth_beat_ar'/],
  ['a quality-gated verdict', { ...BASE, exactness_baseline: { status: 'passed' }, speed_evidence: { status: 'passed', verdict: 'no_quality_passed_mtp_depth_beat_ar' } }, /no_quality_passed/],
  ['a release blocker', { ...BASE, exactness_baseline: { status: 'passed' }, public_release_blocker: true }, /public_release_blocker/],
  ['an MTPLX candidate status', { ...BASE, exactness_baseline: { status: 'passed' }, speed_evidence: { status: 'candidate_speed' } }, /speed_evidence\.status is 'candidate_speed'/],
])('%s is refused', async (_what, contract, reason) => {
  const reasons = await unverifiedReasons(artifactWith(contract));
  expect(reasons.join('\n')).toMatch(reason);
});

test('publish exits 2 on a passing smoke whose verdict is no_mtp_depth_beat_ar, before any Hub access', async () => {
  const dir = artifactWith(contractWithSmoke(BASE, report('passed', 'no_mtp_depth_beat_ar')));
  // A Hub that cannot be reached: the gate must answer first.
  const saved = process.env.HF_ENDPOINT;
  process.env.HF_ENDPOINT = 'http://127.0.0.1:9';
  const r = await runCli(['publish', dir, '--repo', 'me/slow']).finally(() => (saved === undefined ? delete process.env.HF_ENDPOINT : (process.env.HF_ENDPOINT = saved)));
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/refusing to publish an unverified artifact[\s\S]*no_mtp_depth_beat_ar/);
});
