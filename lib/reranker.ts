// A loaded reranker: validation in front, the scheduler behind. Each native call runs on a worker
// thread, off the event loop.
import { availableParallelism } from 'node:os';
import { RerankAbortError, RerankError } from './errors.js';
import { passingDevices } from './backends.js';
import { NativeReranker, backendReport, nativeModule } from './native.js';
import { TextNormalizer, textNormalizer } from './normalize.js';
import { buildResponse } from './response.js';
import { DecodeTotals, Scheduler } from './scheduler.js';
import type { LoadOptions, ModelInfo, RerankHooks, RerankRequest, RerankResponse, RerankStats } from './types.js';
import { ValidLoadOptions, ValidRequest, validateLoadOptions, validateRequest } from './validate.js';

/** Tokens each window of a chunked document repeats from the one before. */
const CHUNK_OVERLAP = 80;
const CPU_BATCH = 512;
// Measured on an H200 (issue 9, G100: 100 pairs of ~340 tokens): 2048/2048 took 508 ms against
// 665 ms for 4096/1024, 653 ms for 1024/1024 and 678 ms for 8192/8192.
const GPU_BATCH = 2048;
const GPU_UBATCH = 2048;

export class Reranker implements AsyncDisposable {
  private native: NativeReranker | undefined;
  private readonly scheduler: Scheduler;
  /** User text as the model's official tokenizer reads it (lib/normalize.ts). */
  private readonly normalize: TextNormalizer;
  private readonly totals: Omit<RerankStats, keyof DecodeTotals> = { requests: 0, pairs: 0, promptTokens: 0, computedTokens: 0 };

  private constructor(native: NativeReranker, private readonly options: ValidLoadOptions) {
    this.native = native;
    this.scheduler = new Scheduler(native, native.info().batchSize);
    this.normalize = textNormalizer(native.info().tokenizer);
  }

  /** Loads a Qwen3-Reranker GGUF. Rejects with RerankError (MODEL_NOT_FOUND, MODEL_LOAD_FAILED, INVALID_OPTIONS). */
  static async load(options: LoadOptions): Promise<Reranker> {
    const valid = validateLoadOptions(options);
    const addon = nativeModule();
    // 'auto' means the backend chosen for this process (lib/backends.ts); static builds choose themselves
    const gpu = valid.gpu === 'auto' && addon.backendDl ? backendReport().selected : valid.gpu;
    // Only the devices that passed the probe: a backend's other devices may be the broken ones.
    const devices = addon.backendDl && gpu !== 'cpu' && gpu !== 'auto' ? passingDevices(backendReport(), gpu) : undefined;
    const onGpu = gpu !== 'cpu' && valid.gpuLayers !== 0;
    // A CPU gains nothing from larger batches (measured: bench/); a GPU needs them to be busy.
    const batchSize = valid.batchSize ?? (onGpu ? GPU_BATCH : CPU_BATCH);
    try {
      const native = await addon.loadModel({
        path: valid.model,
        gpu,
        gpuLayers: valid.gpuLayers,
        threads: valid.threads ?? availableParallelism(),
        maxLength: valid.maxLength,
        batchSize,
        ubatchSize: Math.min(batchSize, onGpu ? GPU_UBATCH : CPU_BATCH),
        maxSequences: 64,
        flashAttention: valid.flashAttention,
        kvType: valid.kvType,
        // A GPU is busy only with full batches, so concurrent requests share them there; a CPU
        // gains little from it and keeps every request's scores independent of the others.
        pack: !(valid.reproducible ?? !onGpu),
        devices,
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
    return { ...this.totals, ...this.scheduler.totals };
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
        instruction: this.normalize(valid.instruction),
        query: this.normalize(valid.query),
        documents: valid.documents.map(this.normalize),
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
  async tokenize(text: string, { parseSpecial = false, maxTokens }: { parseSpecial?: boolean; maxTokens?: number } = {}): Promise<number[]> {
    if (typeof text !== 'string') throw new RerankError('INVALID_REQUEST', 'text: must be a string', 'text');
    if (maxTokens !== undefined && (!Number.isSafeInteger(maxTokens) || maxTokens < 0)) {
      throw new RerankError('INVALID_REQUEST', 'maxTokens: must be a non-negative integer', 'maxTokens');
    }
    return Array.from(await this.live().tokenize(this.normalize(text), parseSpecial, maxTokens));
  }

  /**
   * Frees the model. Requests queued or running reject with DISPOSED (native code stops at its next
   * decode call, on a CPU within the one running), and so does every later call.
   */
  dispose(): void {
    const native = this.native;
    this.native = undefined;
    this.scheduler.close();
    native?.dispose();
  }

  /** dispose(), then waits until native code has stopped and let go of the model. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
    await this.scheduler.idle();
  }

  private live(): NativeReranker {
    if (!this.native) throw new RerankError('DISPOSED', 'the reranker was disposed');
    return this.native;
  }
}
