// A loaded reranker: validation in front, the scheduler behind. Each native call runs on a worker
// thread, off the event loop; with `isolate`, in a child process (lib/isolate/).
import { RerankAbortError, RerankError } from './errors.js';
import { ChildSupervisor } from './isolate/supervisor.js';
import { loadNative } from './load-native.js';
import type { NativeReranker } from './native.js';
import { TextNormalizer, textNormalizer } from './normalize.js';
import { buildResponse } from './response.js';
import { DecodeTotals, Scheduler } from './scheduler.js';
import { Slots } from './slots.js';
import type { LoadOptions, ModelInfo, RerankHooks, RerankRequest, RerankResponse, RerankStats } from './types.js';
import { ValidLoadOptions, ValidRequest, validateLoadOptions, validateRequest, validateTokenizeOptions, validateTruncateArguments } from './validate.js';

/** Tokens each window of a chunked document repeats from the one before. */
const CHUNK_OVERLAP = 80;

/** libuv's thread pool, as libuv reads UV_THREADPOOL_SIZE (atoi; 0 is 1, at most 1024; unset, 4). */
function libuvPoolSize(): number {
  const value = process.env.UV_THREADPOOL_SIZE;
  if (value === undefined) return 4;
  const n = Number.parseInt(value, 10);
  if (Number.isNaN(n) || n === 0) return 1;
  return n < 0 || n > 1024 ? 1024 : n; // libuv reads it as unsigned
}

/**
 * Native tokenize() and truncate() calls at once, in this process, every model's together: libuv's
 * pool less the two native calls a scheduler keeps in flight, so texts of megabytes being cut never
 * keep a request of one model waiting to be scored. (Each further model loaded in this process
 * keeps two more threads busy scoring: raise UV_THREADPOOL_SIZE for those.)
 */
const tokenizerSlots = new Slots(Math.max(1, libuvPoolSize() - 2));

export class Reranker implements AsyncDisposable {
  private native: NativeReranker | undefined;
  private scheduler: Scheduler;
  /** User text as the model's official tokenizer reads it (lib/normalize.ts). */
  private readonly normalize: TextNormalizer;
  private readonly totals: Omit<RerankStats, keyof DecodeTotals | 'restarts'> = { requests: 0, pairs: 0, promptTokens: 0, computedTokens: 0 };
  /** Kept across the schedulers of successive child processes. */
  private readonly decodeTotals: DecodeTotals = { decodeCalls: 0, decodeMs: 0, graphsReused: 0, pairsAhead: 0 };
  /** Aborted by dispose(): tokenize() and truncate() calls waiting their turn leave the line. */
  private readonly disposal = new AbortController();
  /** tokenize() and truncate() calls not settled yet: asyncDispose waits for them too. */
  private readonly tokenizerCalls = new Set<Promise<unknown>>();

  private constructor(native: NativeReranker, private readonly options: ValidLoadOptions, private readonly children?: ChildSupervisor) {
    this.native = native;
    this.scheduler = new Scheduler(native, native.info().batchSize, this.decodeTotals);
    this.normalize = textNormalizer(native.info().tokenizer);
  }

  /**
   * Loads a Qwen3-Reranker GGUF, in this process or (isolate: true) in a child process.
   * Rejects with RerankError (MODEL_NOT_FOUND, MODEL_LOAD_FAILED, INVALID_OPTIONS, BACKEND_CRASHED).
   */
  static async load(options: LoadOptions): Promise<Reranker> {
    const valid = validateLoadOptions(options);
    const loaded = valid.isolate ? await ChildSupervisor.start(valid) : undefined;
    const reranker = new Reranker(loaded ? loaded.live() : await loadNative(valid), valid, loaded);
    // In this process, whichever process loaded it: weights 'auto' fell back to the stored weights.
    const { weightsConversionError } = reranker.info;
    if (weightsConversionError) {
      process.emitWarning(`llama-rerank: weights 'auto' loaded ${valid.model} as stored: ${weightsConversionError}`, { code: 'LLAMA_RERANK_WEIGHTS' });
    }
    return reranker;
  }

  get info(): ModelInfo {
    return this.live().info();
  }

  get stats(): RerankStats {
    return { ...this.totals, ...this.decodeTotals, restarts: this.children?.restarts ?? 0 };
  }

  /** isolate: a new child process is loading the model after the last one died. */
  get restarting(): boolean {
    return this.children?.restarting ?? false;
  }

  /** isolate: the pid of the child process holding the model. */
  get childPid(): number | undefined {
    return this.children?.pid;
  }

  get disposed(): boolean {
    return this.native === undefined;
  }

  /** Scores every document against the query; results from most to least relevant. */
  async rerank(request: RerankRequest, hooks: RerankHooks = {}): Promise<RerankResponse> {
    this.live();
    const valid: ValidRequest = validateRequest(request);
    if (valid.signal?.aborted) throw new RerankAbortError(valid.signal.reason);
    const scored = await this.scheduler.submit(
      {
        instruction: this.normalize(valid.instruction, this.options.maxLength),
        query: this.normalize(valid.query, this.options.maxLength),
        documents: valid.documents.map((d) => this.normalize(d, this.options.maxLength * valid.maxChunks)),
        maxLength: this.options.maxLength,
        truncate: valid.truncate,
        sharePrefix: this.options.sharePrefix,
        maxChunks: valid.maxChunks,
        chunkOverlap: CHUNK_OVERLAP,
      },
      valid.signal,
      hooks.onStart,
    );
    const response = buildResponse(valid, scored);
    this.totals.requests++;
    this.totals.pairs += valid.documents.length;
    this.totals.promptTokens += response.usage.prompt_tokens;
    this.totals.computedTokens += scored.computedTokens;
    return response;
  }

  /**
   * The model's tokens for a text, as the prompt's body is tokenized: normalized as a query or
   * document is (lib/normalize.ts), control tokens read as text unless `parseSpecial` is set. With
   * `maxTokens`, the first that many: the same tokens as the whole text's, from only as much of the
   * text as they need.
   */
  async tokenize(text: string, options: { parseSpecial?: boolean; maxTokens?: number } = {}): Promise<number[]> {
    const { parseSpecial = false, maxTokens } = validateTokenizeOptions(text, options);
    const normalized = this.normalize(text, maxTokens);
    return Array.from(await this.tokenizerCall((native) => native.tokenize(normalized, parseSpecial, maxTokens)));
  }

  /**
   * The text of the first `maxTokens` tokens of `text`, as a hosted API's `max_tokens_per_doc`
   * truncates a document: `text` itself when it has no more tokens than that; else the text those
   * tokens spell (normalized as a document is), less a character the last one ends inside, and at
   * most `maxTokens` tokens when tokenized again (a lone surrogate reads as U+FFFD, as everywhere).
   * Tokenizes only as much of the text as the tokens need, about twice: a cheap cut for a long document.
   * `signal`: aborted before native code took the call, it rejects with ABORTED.
   */
  async truncate(text: string, maxTokens: number, options: { signal?: AbortSignal } = {}): Promise<string> {
    const { signal } = validateTruncateArguments(text, maxTokens, options);
    this.live();
    if (signal?.aborted) throw new RerankAbortError(signal.reason);
    const normalized = this.normalize(text, maxTokens);
    // A token spells at least one byte of the normalized text (NFC can make it longer: U+0F76 is 3
    // bytes, then 6 and 6 tokens), so a text of no more bytes needs no tokenizing.
    if (Buffer.byteLength(normalized) <= maxTokens) return text;
    return (await this.tokenizerCall((native) => native.truncate(normalized, maxTokens), signal)) ?? text;
  }

  /**
   * Frees the model. Requests queued or running reject with DISPOSED (native code stops at its next
   * decode call, on a CPU within the one running), and so does every later call.
   */
  dispose(): void {
    const native = this.native;
    this.native = undefined;
    this.disposal.abort(new RerankError('DISPOSED', 'the reranker was disposed'));
    this.scheduler.close();
    native?.dispose();
    this.children?.close();
  }

  /**
   * dispose(), then waits until native code has stopped and let go of the model; with isolate, until
   * the child process has exited, so its memory (a GPU's too) is free for the next load.
   */
  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
    await Promise.allSettled([this.scheduler.idle(), ...this.tokenizerCalls, this.children?.ended()]);
  }

  /**
   * A native tokenizer call, in its turn (tokenizerSlots). Its answer after dispose() is DISPOSED, as
   * a call to an isolated model's ended child is; `signal` aborted before the call ran: ABORTED.
   */
  private async tokenizerCall<T>(call: (native: NativeReranker) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const running = tokenizerSlots.run(() => call(this.live()), [this.disposal.signal, signal]);
    this.tokenizerCalls.add(running);
    try {
      const result = await running;
      this.live();
      return result;
    } catch (err) {
      throw signal?.aborted && err === signal.reason ? new RerankAbortError(signal.reason) : err;
    } finally {
      this.tokenizerCalls.delete(running);
    }
  }

  private live(): NativeReranker {
    if (!this.native) throw new RerankError('DISPOSED', 'the reranker was disposed');
    const child = this.children?.live();
    if (child && child !== this.native) {
      // A new child: the old scheduler fails what it still holds (the dead child rejects at once).
      this.native = child;
      this.scheduler = new Scheduler(child, child.info().batchSize, this.decodeTotals);
    }
    return this.native;
  }
}
