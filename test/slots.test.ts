// Slots: at most n tasks at once, the others in the order they came, a failed task's place freed too.
import { describe, expect, it } from 'vitest';
import { Slots } from '../lib/slots.js';

describe('Slots', () => {
  it('runs at most n tasks at once, the waiting ones first come, first served, after failures too', async () => {
    const slots = new Slots(2);
    let running = 0;
    const started: number[] = [];
    const runningAtStart: number[] = [];
    const finish: (() => void)[] = [];
    const tasks = Array.from({ length: 6 }, (_, i) =>
      slots
        .run(async () => {
          started.push(i);
          runningAtStart.push(++running);
          await new Promise<void>((resolve) => finish.push(resolve));
          running--;
          if (i === 1) throw new Error('task 1 failed');
          return i;
        })
        .catch((e: Error) => e.message),
    );
    // finish the oldest running task, one at a time, until all have run
    while (started.length < 6 || running > 0) {
      await new Promise((resolve) => setImmediate(resolve));
      finish.shift()?.();
    }
    expect(await Promise.all(tasks)).toEqual([0, 'task 1 failed', 2, 3, 4, 5]);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
    expect(runningAtStart).toEqual([1, 2, 2, 2, 2, 2]); // task 1's failure gave its place on
  });

  it('a waiting task whose signal aborts leaves the line, rejected with its reason; no place is lost', async () => {
    const slots = new Slots(1);
    let release!: () => void;
    const first = slots.run(() => new Promise<string>((resolve) => (release = () => resolve('first'))));
    const ctl = new AbortController();
    const ran: string[] = [];
    const leaving = slots.run(async () => ran.push('leaving'), [undefined, ctl.signal]);
    const next = slots.run(async () => ran.push('next'));
    ctl.abort(new Error('gone'));
    await expect(leaving).rejects.toThrow('gone');
    await expect(slots.run(async () => 0, [ctl.signal])).rejects.toThrow('gone'); // aborted already: not queued
    release();
    expect(await first).toBe('first');
    await next;
    expect(ran).toEqual(['next']);
    expect(await Promise.all([slots.run(async () => 1), slots.run(async () => 2)])).toEqual([1, 2]);
  });
});
