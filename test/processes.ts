// Watching processes from the tests (Linux /proc): whether one lives, its CPU time, its children.
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function untilGone(pid: number): Promise<void> {
  while (alive(pid)) await sleep(20);
}

/** CPU time the process has used, in clock ticks. */
export function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Resolves once the process has used some CPU time from now: an idle worker has started computing. */
export async function untilBusy(pid: number): Promise<void> {
  const before = cpuTicks(pid);
  while (cpuTicks(pid) < before + 3) await sleep(5);
}

export function childrenOf(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}
