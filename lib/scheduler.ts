// Queues requests for one native model and hands them over in slices, fairly.
//
// A request is cut into slices of at most slicePairs() pairs. Each native call takes one slice from
// every waiting request in turn, so a small request waits for at most one call, however large the
// requests ahead of it. Native code decodes the slices of a call back to back, each alone in its
// batches with its own shared prefix: a slice's batch layout depends on that slice only, which
// keeps a request's scores the same whatever else is running.
import { RerankAbortError, RerankError } from './errors.js';
import type { NativeGroup, NativeGroupResult, NativeReranker } from './native.js';

/**
 * Pairs per slice: enough to fill several decode batches (a slice's last batch is only partly
 * full), few enough to interleave requests. 32 for the CPU's 512-token batches, more for a GPU's.
 */
export function slicePairs(batchSize: number): number {
  return Math.min(256, Math.max(32, Math.floor(batchSize / 16)));
}
/** Slices per native call (one per waiting request). */
const SLICES_PER_CALL = 8;

export interface ScheduledResult {
  scores: number[];
  pairTokens: number[];
  computedTokens: number;
}

interface Job {
  slices: NativeGroup[];
  next: number; // the first slice not yet handed to native code
  results: NativeGroupResult[];
  pending: number; // slices sent and not yet back
  done: boolean;
  resolve: (r: ScheduledResult) => void;
  reject: (e: Error) => void;
  detach?: () => void;
}

export class Scheduler {
  private readonly jobs: Job[] = []; // jobs with slices still to send
  private running = false;

  private readonly slice: number;

  constructor(private native: NativeReranker | undefined, batchSize: number) {
    this.slice = slicePairs(batchSize);
  }

  submit(group: NativeGroup, signal?: AbortSignal): Promise<ScheduledResult> {
    return new Promise((resolve, reject) => {
      const slices: NativeGroup[] = [];
      for (let i = 0; i < group.documents.length; i += this.slice) {
        slices.push({ ...group, documents: group.documents.slice(i, i + this.slice) });
      }
      const job: Job = { slices, next: 0, results: [], pending: 0, done: false, resolve, reject };
      if (signal) {
        const onAbort = () => this.fail(job, new RerankAbortError(signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
        job.detach = () => signal.removeEventListener('abort', onAbort);
      }
      this.jobs.push(job);
      this.pump();
    });
  }

  /** Stops taking work: queued slices are dropped and their requests rejected with DISPOSED. */
  close(): void {
    this.native = undefined;
    for (const job of [...this.jobs]) this.fail(job, new RerankError('DISPOSED', 'the reranker was disposed'));
  }

  private pump(): void {
    if (this.running || !this.native || this.jobs.length === 0) return;
    const batch: { job: Job; slice: number }[] = [];
    for (const job of this.jobs.splice(0, SLICES_PER_CALL)) {
      batch.push({ job, slice: job.next++ });
      job.pending++;
      if (job.next < job.slices.length) this.jobs.push(job); // round-robin: back of the line
    }
    this.running = true;
    this.native
      .score(batch.map(({ job, slice }) => job.slices[slice]))
      .then((results) => results.forEach((r, i) => this.receive(batch[i].job, batch[i].slice, r)))
      .catch((err: Error) => {
        for (const { job } of batch) this.fail(job, new RerankError('DECODE_FAILED', err.message));
      })
      .finally(() => {
        this.running = false;
        this.pump();
      });
  }

  private receive(job: Job, slice: number, result: NativeGroupResult): void {
    job.pending--;
    if (job.done) return;
    if (result.error) {
      const index = result.errorIndex !== undefined && result.errorIndex >= 0 ? result.errorIndex + slice * this.slice : -1;
      const message = index >= 0 ? result.error.replace(/^document \d+/, `document ${index}`) : result.error;
      this.fail(job, new RerankError(result.errorCode ?? 'DECODE_FAILED', message, index >= 0 ? `documents[${index}]` : undefined));
      return;
    }
    job.results[slice] = result;
    if (job.next < job.slices.length || job.pending > 0) return;
    job.done = true;
    job.detach?.();
    job.resolve({
      scores: job.results.flatMap((r) => Array.from(r.scores)),
      pairTokens: job.results.flatMap((r) => r.pairTokens),
      computedTokens: job.results.reduce((n, r) => n + r.computedTokens, 0),
    });
  }

  private fail(job: Job, error: Error): void {
    if (job.done) return;
    job.done = true;
    job.detach?.();
    this.unqueue(job);
    job.reject(error);
  }

  private unqueue(job: Job): void {
    const at = this.jobs.indexOf(job);
    if (at >= 0) this.jobs.splice(at, 1);
  }
}
