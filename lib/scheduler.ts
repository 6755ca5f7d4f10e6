// Queues requests for one native model and hands them over in slices, fairly.
//
// Each native call takes one slice from every waiting request in turn (up to SLICES_PER_CALL), so
// a small request waits for at most one call, however large the requests ahead of it. Two calls may
// be in flight: native code tokenizes a call's documents while the other decodes (the model decodes
// one call at a time), so a request whose documents are slow to tokenize holds up no other, and the
// next call's tokens are ready when the model is free. A slice is at
// most slicePairs() documents and, counted in tokens once native code has tokenized them, at most
// sliceTokens(): native scores documents from the first while they fit and says how many it
// scored; the rest go back in the queue. So one call's length is bounded whatever the documents.
//
// Whether the slices of a call share decode batches is the model's choice (packing, on a GPU by
// default); without it each slice is decoded alone, so a request's scores do not depend on what
// else is running. An aborted request is dropped from the queue and, when native code is running
// it, stopped at the next decode call.
import { whenAborted } from './abort-watch.js';
import { RerankAbortError, RerankError } from './errors.js';
import type { NativeGroup, NativeGroupResult, NativeReranker } from './native.js';

/**
 * Documents per slice: enough to fill several decode batches (a slice's last batch is only partly
 * full), few enough to interleave requests. 32 for the CPU's 512-token batches, more for a GPU's.
 */
export function slicePairs(batchSize: number): number {
  return Math.min(256, Math.max(32, Math.floor(batchSize / 16)));
}

/** Tokens per slice: 32 full batches (16,384 on the CPU's 512-token batches). */
export function sliceTokens(batchSize: number): number {
  return 32 * batchSize;
}

function started(job: Job): void {
  const onStart = job.onStart;
  job.onStart = undefined;
  try {
    onStart?.();
  } catch {
    // an observer's failure is not the request's
  }
}

/** Slices per native call (one per waiting request). */
const SLICES_PER_CALL = 8;
/** Native calls at once: one decoding, one tokenizing meanwhile. */
const CALLS_IN_FLIGHT = 2;

export interface ScheduledResult {
  scores: number[];
  pairTokens: number[];
  computedTokens: number;
}

/** What native code did, over every call. */
export interface DecodeTotals {
  decodeCalls: number;
  decodeMs: number;
  graphsReused: number;
  pairsAhead: number;
}

interface Job {
  id: number;
  group: Omit<NativeGroup, 'id' | 'documents' | 'tokenBudget'>;
  documents: string[];
  next: number; // the first document not yet scored
  call: number; // the native call running its slice; 0 while none does
  done: boolean;
  result: ScheduledResult;
  resolve: (r: ScheduledResult) => void;
  reject: (e: Error) => void;
  detach?: () => void;
  onStart?: () => void; // once, when its first slice goes to native code
}

export class Scheduler {
  private readonly queue: Job[] = []; // jobs waiting for their next slice
  private readonly inFlight = new Set<Job>();
  private readonly running = new Set<Promise<void>>(); // the native calls in progress
  private nextId = 1;
  private nextCall = 1;
  private readonly slice: number;
  private readonly budget: number;
  /** `totals`: where decode calls and time are added up (may outlive this scheduler). */
  constructor(
    private native: NativeReranker | undefined,
    batchSize: number,
    readonly totals: DecodeTotals = { decodeCalls: 0, decodeMs: 0, graphsReused: 0, pairsAhead: 0 },
  ) {
    this.slice = slicePairs(batchSize);
    this.budget = sliceTokens(batchSize);
  }

  submit(group: Omit<NativeGroup, 'id' | 'tokenBudget'>, signal?: AbortSignal, onStart?: () => void): Promise<ScheduledResult> {
    return new Promise((resolve, reject) => {
      const { documents, ...rest } = group;
      const job: Job = {
        id: this.nextId,
        group: rest,
        documents,
        next: 0,
        call: 0,
        done: false,
        result: { scores: [], pairTokens: [], computedTokens: 0 },
        resolve,
        reject,
        onStart,
      };
      this.nextId = this.nextId >= 0xffffffff ? 1 : this.nextId + 1; // native ids are 32-bit
      if (signal) job.detach = whenAborted(signal, () => this.fail(job, new RerankAbortError(signal.reason)));
      this.queue.push(job);
      this.pump();
    });
  }

  /**
   * Stops taking work: queued requests and those native code is running reject with DISPOSED
   * (the caller stops native code).
   */
  close(): void {
    this.native = undefined;
    for (const job of [...this.queue, ...this.inFlight]) this.fail(job, new RerankError('DISPOSED', 'the reranker was disposed'));
  }

  /** Settles once no native call is running (after close(): once native code has let go). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  private pump(): void {
    while (this.running.size < CALLS_IN_FLIGHT && this.native && this.queue.length > 0) this.call(this.native);
  }

  private call(native: NativeReranker): void {
    const callId = this.nextCall++;
    const batch = this.queue.splice(0, SLICES_PER_CALL);
    const slices: NativeGroup[] = batch.map((job) => {
      job.call = callId;
      this.inFlight.add(job);
      return { ...job.group, id: job.id, documents: job.documents.slice(job.next, job.next + this.slice), tokenBudget: this.budget };
    });
    let scoring: ReturnType<NativeReranker['score']>;
    try {
      scoring = native.score(slices);
    } catch (err) {
      scoring = Promise.reject(err); // a conversion that throws fails this call's jobs, as any error
    }
    // Once native code holds every slice: a hook that aborts or disposes acts on a running call,
    // as it would a moment later, and cannot leave the rest of the batch half handed over.
    for (const job of batch) if (job.next === 0 && !job.done) started(job);
    const call: Promise<void> = scoring
      .then((result) => {
        this.totals.decodeCalls += result.decodeCalls;
        this.totals.decodeMs += result.decodeMs;
        this.totals.graphsReused += result.graphsReused ?? 0;
        this.totals.pairsAhead += result.pairsAhead ?? 0;
        result.groups.forEach((r, i) => this.receive(batch[i], r, callId));
      })
      .catch((err: Error) => {
        // A RerankError says what failed (BACKEND_CRASHED from an isolated model's dead process)
        const error = err instanceof RerankError ? err : new RerankError('DECODE_FAILED', err.message);
        for (const job of batch) {
          this.landed(job, callId);
          this.fail(job, error);
        }
      })
      .finally(() => {
        // receive() may have re-queued a job and a later call taken it already: that one owns it now.
        for (const job of batch) this.landed(job, callId);
        this.running.delete(call);
        this.pump();
      });
    this.running.add(call);
  }

  private receive(job: Job, r: NativeGroupResult, callId: number): void {
    this.landed(job, callId);
    if (job.done) return;
    if (r.error) {
      const index = r.errorIndex !== undefined && r.errorIndex >= 0 ? r.errorIndex + job.next : -1;
      const message = index >= 0 ? r.error.replace(/^document \d+/, `document ${index}`) : r.error;
      this.fail(job, new RerankError(r.errorCode ?? 'DECODE_FAILED', message, index >= 0 ? `documents[${index}]` : undefined));
      return;
    }
    const { result } = job;
    result.scores.push(...r.scores);
    result.pairTokens.push(...r.pairTokens);
    result.computedTokens += r.computedTokens;
    if (r.completed <= 0) {
      this.fail(job, new RerankError('DECODE_FAILED', 'native code scored no document of the slice'));
      return;
    }
    job.next += r.completed;
    if (job.next < job.documents.length) {
      this.queue.push(job); // round-robin: back of the line
      return;
    }
    job.done = true;
    job.detach?.();
    job.resolve(result);
  }

  /** Native call `callId` has let go of the job (a no-op when a later call runs it). */
  private landed(job: Job, callId: number): void {
    if (job.call !== callId) return;
    job.call = 0;
    this.inFlight.delete(job);
  }

  private fail(job: Job, error: Error): void {
    if (job.done) return;
    job.done = true;
    job.detach?.();
    const at = this.queue.indexOf(job);
    if (at >= 0) this.queue.splice(at, 1);
    if (job.call !== 0) this.native?.cancel(job.id);
    job.reject(error);
  }
}
