/**
 * flock(2) locks: exclusive between open file descriptions (also within one process), free again when
 * the holder closes or dies, and a taker never ends up holding a deleted file's inode.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readLockOwner, tryLock, currentOwner } from '../../src/native/file-lock';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mtpkit-flock-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('one holder at a time; the owner is readable; release frees it (and deletes the file only when asked)', async () => {
  const file = path.join(tmp, 'a.lock');
  const owner = currentOwner('mtpkit test');
  const first = await tryLock(file, { owner, removeOnRelease: true });
  expect(first).toBeDefined();
  expect(await tryLock(file)).toBeUndefined();
  expect(await readLockOwner(file)).toEqual(owner);
  await first!.release();
  expect(fs.existsSync(file)).toBe(false);
  const kept = await tryLock(file);
  await kept!.release();
  expect(fs.existsSync(file)).toBe(true); // cache locks stay, as huggingface_hub's do
});

const hasFlock = spawnSync('flock', ['--version']).status === 0;
(hasFlock ? test : test.skip)('another process (util-linux flock, the same flock(2) as Python filelock) excludes us; its death frees the lock', async () => {
  const file = path.join(tmp, 'b.lock');
  fs.writeFileSync(file, '');
  const holder = spawn('flock', [file, 'sleep', '600'], { stdio: 'ignore', detached: true });
  try {
    while (spawnSync('flock', ['-n', file, 'true']).status === 0) await new Promise((r) => setTimeout(r, 20));
    expect(await tryLock(file)).toBeUndefined();
  } finally {
    process.kill(-holder.pid!, 'SIGKILL');
  }
  await new Promise((r) => holder.on('exit', r));
  let held;
  while (!(held = await tryLock(file))) await new Promise((r) => setTimeout(r, 20)); // the group may take a moment to die
  expect(spawnSync('flock', ['-n', file, 'true']).status).toBe(1); // and now we exclude it
  await held.release();
});

test('a file system without flock runs unlocked (as before locks existed); any other flock error is an error', async () => {
  const file = path.join(tmp, 'c.lock');
  const failing = (name: string) => () => {
    throw Object.assign(new Error(`flock: ${name}`), { errno: os.constants.errno[name as keyof typeof os.constants.errno] });
  };
  const unlocked = await tryLock(file, { flock: failing('ENOLCK') });
  expect(unlocked).toMatchObject({ locked: false });
  await unlocked!.release();
  await expect(tryLock(file, { flock: failing('EBADF') })).rejects.toThrow(/cannot take the lock: flock: EBADF/);
  const real = await tryLock(file);
  expect(real).toMatchObject({ locked: true });
  await real!.release();
});
