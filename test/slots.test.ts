// Slots: at most n tasks at once, the others in the order they came, a failed task's place freed too.
import { describe, expect, it } from 'vitest';
import { Slots } from '../lib/slots.js';

describe('Slots', () => {
  it('runs at most n tasks at once, the waiting ones first come, first served, after failures too', async () => {
    const slots = new Slots(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const finish: (() => void)[] = [];
    const tasks = Array.from({ length: 6 }, (_, i) =>
      slots
        .run(async () => {
          started.push(i);
          most = Math.max(most, ++running);
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
    expect(most).toBe(2);
  });
});
