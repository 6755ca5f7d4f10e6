import { whenAborted } from './abort-watch.js';

// A fixed number of places: at most that many tasks run at once, the others wait their turn, first
// come, first served. A waiting task whose signal aborts leaves the line (a running one runs on).
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  /**
   * Runs `task` once a place is free; the place is freed when it settles. Rejects with the reason of
   * the first of `signals` to abort before the task starts.
   */
  async run<T>(task: () => Promise<T>, signals: readonly (AbortSignal | undefined)[] = []): Promise<T> {
    const watched = signals.filter((s): s is AbortSignal => s !== undefined);
    const aborted = () => watched.find((s) => s.aborted);
    if (aborted()) throw aborted()!.reason;
    if (this.free > 0) this.free--;
    else await this.turn(watched, aborted);
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // the place goes straight to the next task
      else this.free++;
    }
  }

  /** Resolves when a place is handed over; rejects, out of the line, when a signal aborts first. */
  private turn(watched: AbortSignal[], aborted: () => AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      // Listening stops as the place comes or a signal fires (both synchronous): never both.
      let stops: (() => void)[] = [];
      const stopListening = () => stops.forEach((stop) => stop());
      const handedOver = () => {
        stopListening();
        resolve();
      };
      const onAbort = () => {
        stopListening();
        this.waiting.splice(this.waiting.indexOf(handedOver), 1);
        reject(aborted()!.reason);
      };
      stops = watched.map((s) => whenAborted(s, onAbort));
      this.waiting.push(handedOver);
    });
  }
}
