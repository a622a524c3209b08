import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { currentProcessIdentity, isProvablyDead } from '../../src/jobs/process-identity.js';

/** A job's owner is declared dead only when this host can prove it: real processes, real /proc. */
describe.runIf(existsSync('/proc/self/stat'))('process identity of a job owner', () => {
  const identity = currentProcessIdentity() ?? '';

  it('is alive while the process runs', () => {
    expect(identity).toMatch(/^[0-9a-f-]+\/\d+\/\d+\/\d+$/);
    expect(isProvablyDead(identity)).toBe(false);
  });

  it('is dead once the process has exited, and a reused pid does not bring it back', async () => {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    const pid = child.pid ?? 0;
    const [boot, namespace] = identity.split('/');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(isProvablyDead(`${boot}/${namespace}/${pid}/1`)).toBe(true);
    // This process's own pid with another start time: a different (earlier) process.
    expect(isProvablyDead(`${boot}/${namespace}/${process.pid}/1`)).toBe(true);
  });

  it('is never declared dead from another boot or pid namespace', () => {
    const [, namespace, pid, ticks] = identity.split('/');
    expect(isProvablyDead(`00000000-0000-0000-0000-000000000000/${namespace}/${pid}/${ticks}`)).toBe(false);
    expect(isProvablyDead(`${identity.split('/')[0]}/1/999999999/1`)).toBe(false);
    expect(isProvablyDead('garbage')).toBe(false);
  });
});
