/** Kills a converting child process (SIGKILL) once its resume manifest records `n` finished shards. */
import type { ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { RESUME_FILE } from '../../src/convert/resume';

/** Shards the resume manifest of the hidden folder `partial` lists as finished. */
export function recordedShards(partial: string): string[] {
  try {
    return Object.keys(JSON.parse(fs.readFileSync(path.join(partial, RESUME_FILE), 'utf8')).shards);
  } catch {
    return [];
  }
}

export async function killAfterShards(child: ChildProcess, partial: string, n: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (recordedShards(partial).length >= n) {
        clearInterval(timer);
        child.kill('SIGKILL');
        resolve();
      }
    }, 5);
    child.on('exit', () => {
      clearInterval(timer);
      reject(new Error('the child finished before it could be killed'));
    });
  });
  await new Promise((r) => child.on('exit', r));
}
