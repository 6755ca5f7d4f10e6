// A loaded reranker. Requests are queued and handed to native code one call at a time (a model
// context runs one decode at a time); each call runs on a worker thread, off the event loop.
import { availableParallelism } from 'node:os';
import { RerankAbortError, RerankError } from './errors.js';
import { NativeGroup, NativeGroupResult, NativeReranker, nativeModule } from './native.js';
import { buildResponse } from './response.js';
import type { LoadOptions, ModelInfo, RerankRequest, RerankResponse, RerankStats } from './types.js';
import { ValidLoadOptions, ValidRequest, validateLoadOptions, validateRequest } from './validate.js';

interface Job {
  request: ValidRequest;
  group: NativeGroup;
  resolve: (r: RerankResponse) => void;
  reject: (e: Error) => void;
  onAbort?: () => void;
}

export class Reranker implements AsyncDisposable {
  private readonly queue: Job[] = [];
  private running = false;
  private native: NativeReranker | undefined;
  private readonly totals: RerankStats = { requests: 0, pairs: 0, promptTokens: 0, computedTokens: 0 };

  private constructor(native: NativeReranker, private readonly options: ValidLoadOptions) {
    this.native = native;
  }

  /** Loads a Qwen3-Reranker GGUF. Rejects with RerankError (MODEL_NOT_FOUND, MODEL_LOAD_FAILED, INVALID_OPTIONS). */
  static async load(options: LoadOptions): Promise<Reranker> {
    const valid = validateLoadOptions(options);
    const addon = nativeModule();
    try {
      const native = await addon.loadModel({
        path: valid.model,
        gpu: valid.gpu,
        gpuLayers: valid.gpuLayers,
        threads: valid.threads ?? availableParallelism(),
        maxLength: valid.maxLength,
        batchSize: valid.batchSize,
        ubatchSize: valid.batchSize,
        maxSequences: 64,
        flashAttention: valid.flashAttention,
        kvType: valid.kvType,
      });
      return new Reranker(native, valid);
    } catch (err) {
      throw new RerankError('MODEL_LOAD_FAILED', (err as Error).message, 'model');
    }
  }

  get info(): ModelInfo {
    return this.live().info();
  }

  get stats(): RerankStats {
    return { ...this.totals };
  }

  get disposed(): boolean {
    return this.native === undefined;
  }

  /** Scores every document against the query; results from most to least relevant. */
  rerank(request: RerankRequest): Promise<RerankResponse> {
    let valid: ValidRequest;
    try {
      this.live();
      valid = validateRequest(request);
    } catch (err) {
      return Promise.reject(err);
    }
    if (valid.signal?.aborted) return Promise.reject(new RerankAbortError(valid.signal.reason));
    return new Promise<RerankResponse>((resolve, reject) => {
      const job: Job = {
        request: valid,
        group: {
          instruction: valid.instruction,
          query: valid.query,
          documents: valid.documents,
          maxLength: this.options.maxLength,
          truncate: valid.truncate,
          sharePrefix: this.options.sharePrefix,
        },
        resolve,
        reject,
      };
      if (valid.signal) {
        const signal = valid.signal;
        job.onAbort = () => {
          const at = this.queue.indexOf(job);
          if (at >= 0) this.queue.splice(at, 1);
          reject(new RerankAbortError(signal.reason));
        };
        signal.addEventListener('abort', job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.pump();
    });
  }

  /**
   * The model's tokens for a text, as the prompt's body is tokenized (special tokens read as
   * text) unless `parseSpecial` is set.
   */
  async tokenize(text: string, { parseSpecial = false } = {}): Promise<number[]> {
    if (typeof text !== 'string') throw new RerankError('INVALID_REQUEST', 'text: must be a string', 'text');
    return Array.from(await this.live().tokenize(text, parseSpecial));
  }

  /**
   * Frees the model. Requests already handed to native code finish; queued ones reject with
   * DISPOSED, and so does every later call.
   */
  dispose(): void {
    const native = this.native;
    this.native = undefined;
    for (const job of this.queue.splice(0)) this.settle(job, new RerankError('DISPOSED', 'the reranker was disposed'));
    native?.dispose();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
  }

  private live(): NativeReranker {
    if (!this.native) throw new RerankError('DISPOSED', 'the reranker was disposed');
    return this.native;
  }

  private pump(): void {
    if (this.running || !this.native) return;
    const job = this.queue.shift();
    if (!job) return;
    this.running = true;
    this.native
      .score([job.group])
      .then(([result]) => this.settle(job, this.toError(result) ?? this.respond(job, result)))
      .catch((err: Error & { code?: string }) => this.settle(job, new RerankError('DECODE_FAILED', err.message)))
      .finally(() => {
        this.running = false;
        this.pump();
      });
  }

  private respond(job: Job, result: NativeGroupResult): RerankResponse {
    const response = buildResponse(job.request, result);
    this.totals.requests++;
    this.totals.pairs += job.request.documents.length;
    this.totals.promptTokens += response.usage.prompt_tokens;
    this.totals.computedTokens += result.computedTokens;
    return response;
  }

  private toError(result: NativeGroupResult): RerankError | undefined {
    if (!result.error) return undefined;
    const field = result.errorIndex !== undefined && result.errorIndex >= 0 ? `documents[${result.errorIndex}]` : undefined;
    return new RerankError(result.errorCode ?? 'DECODE_FAILED', result.error, field);
  }

  private settle(job: Job, outcome: RerankResponse | Error): void {
    if (job.onAbort) job.request.signal?.removeEventListener('abort', job.onAbort);
    if (job.request.signal?.aborted) return; // already rejected by the abort
    if (outcome instanceof Error) job.reject(outcome);
    else job.resolve(outcome);
  }
}
