/**
 * Issue 10, safety: `--force` replaces only an artifact (or an empty folder); one writer per output
 * (the second says who holds the lock; a killed holder's lock is free); a read-only or non-writable
 * output reports EROFS / EACCES, not a masked ENOENT.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { generateCheckpoint } from '../../fixtures/generator/write-checkpoint';
import { partialDirFor } from '../../src/convert/atomic-dir';
import { outputLockPath } from '../../src/convert/output-dir';
import { RESUME_FILE } from '../../src/convert/resume';
import { assertDistFresh, CLI_MAIN, spawnCli, waitWhileRunning } from '../support/cli-process';
import { runCli } from '../support/run-cli';

const FIXTURE = path.join(__dirname, '..', '..', 'fixtures', 'qwen35-dense-tied');
const SHARD = String(6 << 20);
let tmp: string;
let big: string;
beforeAll(async () => {
  assertDistFresh();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-outsafe-'));
  big = path.join(tmp, 'big');
  await generateCheckpoint(big, { variant: 'qwen35-dense', seed: 7, targetBytes: 60e6 });
}, 300000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('--force', () => {
  const refusedAndIntact = async (out: string, snapshot: () => unknown, why: RegExp) => {
    const before = snapshot();
    const r = await runCli(['convert', FIXTURE, out, '--force']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--force replaces only an MLX artifact folder or an empty folder/);
    expect(r.stderr).toMatch(why);
    expect(snapshot()).toEqual(before);
  };

  test('refuses a plain file, a symlink and a folder of notes, and changes nothing', async () => {
    const file = path.join(tmp, 'a-file');
    fs.writeFileSync(file, 'my thesis');
    await refusedAndIntact(file, () => fs.readFileSync(file, 'utf8'), /it is a file/);
    const link = path.join(tmp, 'a-link');
    fs.symlinkSync(file, link);
    await refusedAndIntact(link, () => fs.readlinkSync(link), /symbolic link/);
    const notes = path.join(tmp, 'notes');
    fs.mkdirSync(notes);
    fs.writeFileSync(path.join(notes, 'todo.md'), 'x');
    await refusedAndIntact(notes, () => fs.readdirSync(notes), /does not look like an MLX artifact/);
  });

  test('refuses an artifact folder that also holds a stranger file; replaces an empty folder and a plain artifact', async () => {
    const art = path.join(tmp, 'art');
    expect((await runCli(['convert', FIXTURE, art])).code).toBe(0);
    fs.writeFileSync(path.join(art, 'my-notes.txt'), 'keep me');
    await refusedAndIntact(art, () => fs.readdirSync(art).sort(), /not part of an MLX artifact: 'my-notes.txt'/);
    fs.rmSync(path.join(art, 'my-notes.txt'));
    const old = fs.statSync(path.join(art, 'config.json')).ino;
    expect((await runCli(['convert', FIXTURE, art, '--force', '--mtp-layout', 'inline'])).code).toBe(0);
    expect(fs.statSync(path.join(art, 'config.json')).ino).not.toBe(old);
    expect(fs.existsSync(path.join(art, 'mtp.safetensors'))).toBe(false); // the old sidecar went with the old artifact
    const empty = path.join(tmp, 'empty');
    fs.mkdirSync(empty);
    expect((await runCli(['convert', FIXTURE, empty, '--force'])).code).toBe(0);
    expect(fs.existsSync(path.join(empty, 'config.json'))).toBe(true);
  });
});

describe('output lock', () => {
  test('a second convert to the same output says who holds it; the first finishes unharmed', async () => {
    const out = path.join(tmp, 'locked');
    const first = spawnCli(['convert', big, out, '--max-shard-bytes', SHARD, '--json']);
    await waitWhileRunning(first.child, () => fs.existsSync(partialDirFor(out)), 'the partial folder');
    const second = await runCli(['convert', FIXTURE, out]);
    // Its own exit code (EX_TEMPFAIL), so a CI script can retry instead of failing.
    expect(second.code).toBe(75);
    expect(second.stderr).toContain('Exit 75: nothing was written, retry later');
    expect(second.stderr).toMatch(
      new RegExp(`another mtpkit process is writing this output \\(pid ${first.child.pid} on host ${os.hostname()}, started \\d{4}-\\d\\d-\\d\\dT[^:]+:\\d\\d:\\d\\d.*: mtpkit convert `),
    );
    const r = await first.done;
    expect(r.code).toBe(0);
    expect((await runCli(['validate', out])).code).toBe(0);
    expect(fs.existsSync(outputLockPath(out))).toBe(false);
  }, 300000);

  test("a killed holder's lock (file left behind, dead pid in it) does not block the next run", async () => {
    const out = path.join(tmp, 'stale');
    const run = spawnCli(['convert', big, out, '--max-shard-bytes', SHARD, '--json']);
    await waitWhileRunning(run.child, () => fs.existsSync(path.join(partialDirFor(out), RESUME_FILE)), 'a finished shard');
    run.child.kill('SIGKILL');
    await run.done;
    expect(JSON.parse(fs.readFileSync(outputLockPath(out), 'utf8')).pid).toBe(run.child.pid);
    const next = await spawnCli(['convert', big, out, '--max-shard-bytes', SHARD, '--resume', '--json']).done;
    expect(next.code).toBe(0);
    expect(JSON.parse(next.stdout).reusedShards.length).toBeGreaterThanOrEqual(1);
  }, 300000);
});

describe('non-writable outputs name the real cause', () => {
  const isRoot = process.getuid?.() === 0;
  const canUnshare = isRoot && spawnSync('unshare', ['-m', 'true']).status === 0;
  const canSetpriv = isRoot && spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']).status === 0;

  (canUnshare ? test : test.skip)('read-only file system: EROFS, also for a missing parent folder', () => {
    const ro = path.join(tmp, 'ro');
    fs.mkdirSync(ro);
    for (const out of [path.join(ro, 'out'), path.join(ro, 'a', 'b', 'out')]) {
      // A private mount namespace: the read-only bind mount is visible to this command only.
      const script = `mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && exec "$2" "$3" convert "$4" "$5"`;
      const r = spawnSync('unshare', ['-m', 'sh', '-c', script, 'sh', ro, process.execPath, CLI_MAIN, FIXTURE, out], { encoding: 'utf8' });
      expect(r.stderr).toMatch(/read-only file system \(EROFS\)/);
      expect(r.stderr).not.toMatch(/ENOENT/);
      expect(r.status).toBe(2);
    }
  });

  (canSetpriv ? test : test.skip)('a folder this user may not write: EACCES', () => {
    const locked = path.join(tmp, 'not-mine');
    fs.mkdirSync(locked, { mode: 0o755 });
    fs.chmodSync(tmp, 0o755);
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI_MAIN, 'convert', FIXTURE, path.join(locked, 'out')], {
      encoding: 'utf8',
    });
    expect(r.stderr).toMatch(/permission denied \(EACCES\)/);
    expect(r.status).toBe(2);
  });
});
