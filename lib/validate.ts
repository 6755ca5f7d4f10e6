// Every input is checked here, once, before anything reaches native code.
import { statSync } from 'node:fs';
import { RerankError } from './errors.js';
import type { GpuOption, LoadOptions, RerankRequest, WeightsOption } from './types.js';

export const DEFAULT_INSTRUCTION = 'Given a web search query, retrieve relevant passages that answer the query';
/** The official Qwen3-Reranker max_length. */
export const DEFAULT_MAX_LENGTH = 8192;

export interface ValidRequest {
  query: string;
  documents: string[];
  topN?: number;
  instruction: string;
  returnDocuments: boolean;
  truncate: boolean;
  maxChunks: number;
  signal?: AbortSignal;
}

export type ValidLoadOptions = Required<Omit<LoadOptions, 'threads' | 'gpuLayers' | 'batchSize' | 'reproducible' | 'contexts' | 'tokenizeAhead'>> &
  Pick<LoadOptions, 'threads' | 'gpuLayers' | 'batchSize' | 'reproducible' | 'contexts' | 'tokenizeAhead'>;

const REQUEST_FIELDS = new Set(['model', 'query', 'documents', 'top_n', 'instruction', 'return_documents', 'truncate', 'max_chunks_per_doc', 'signal']);
const LOAD_FIELDS = new Set(['model', 'gpu', 'gpuLayers', 'threads', 'maxLength', 'batchSize', 'flashAttention', 'kvType', 'sharePrefix', 'reproducible', 'isolate', 'weights', 'kvStreams', 'contexts', 'reuseGraphs', 'tokenizeAhead']);
const GPU_OPTIONS: GpuOption[] = ['auto', 'cpu', 'cuda', 'vulkan', 'metal'];
const WEIGHT_OPTIONS: readonly WeightsOption[] = ['auto', 'stored', 'bf16', 'f16'];

const bad = (field: string, message: string) => new RerankError('INVALID_REQUEST', `${field}: ${message}`, field);
const badOption = (field: string, message: string) => new RerankError('INVALID_OPTIONS', `${field}: ${message}`, field);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkFields(o: Record<string, unknown>, allowed: Set<string>, fail: (f: string, m: string) => RerankError) {
  for (const key of Object.keys(o)) {
    if (!allowed.has(key)) throw fail(key, `unknown field (expected one of ${[...allowed].join(', ')})`);
  }
}

/**
 * A request field that is not set: absent or null (JSON clients, Python's None among them, send
 * null for a field they leave unset).
 */
const unset = (v: unknown): v is undefined | null => v === undefined || v === null;

/** A `signal` field: an AbortSignal, or unset (null too). */
function optionalSignal(signal: unknown): AbortSignal | undefined {
  if (unset(signal)) return undefined;
  if (!(signal instanceof AbortSignal)) throw bad('signal', 'must be an AbortSignal');
  return signal;
}

/** A request's boolean field; null is unset, as in every request field. */
function requestBoolean(o: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = o[key];
  if (unset(v)) return fallback;
  if (typeof v !== 'boolean') throw bad(key, 'must be a boolean');
  return v;
}

/** A load option's boolean: a JS API, where only undefined is absent. */
function optionBoolean(o: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw badOption(key, 'must be a boolean');
  return v;
}

function optionalInteger(o: Record<string, unknown>, key: string, min: number, max: number): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw badOption(key, `must be an integer from ${min} to ${max}`);
  }
  return v;
}

export function validateRequest(input: unknown): ValidRequest {
  if (!isPlainObject(input)) throw new RerankError('INVALID_REQUEST', 'the request must be an object');
  checkFields(input, REQUEST_FIELDS, bad);
  const { model, query, documents, top_n: topN, instruction, signal } = input;
  if (!unset(model) && typeof model !== 'string') throw bad('model', 'must be a string');
  if (typeof query !== 'string') throw bad('query', 'must be a string');
  if (query.trim() === '') throw bad('query', 'must not be empty');
  if (!Array.isArray(documents)) throw bad('documents', 'must be an array of strings or { text } objects');
  // Refused like the hosted APIs and llama-server do: there is nothing to rank.
  if (documents.length === 0) throw bad('documents', 'must not be empty');
  // By index, not map(): map() skips the holes of a sparse array and keeps them in its result.
  const texts: string[] = [];
  for (let i = 0; i < documents.length; i++) {
    const d: unknown = documents[i];
    if (typeof d === 'string') texts.push(d);
    else if (isPlainObject(d) && typeof d.text === 'string') texts.push(d.text);
    else throw bad(`documents[${i}]`, 'must be a string or an object with a string `text`');
  }
  if (!unset(topN) && (typeof topN !== 'number' || !Number.isInteger(topN) || topN < 1)) {
    throw bad('top_n', 'must be a positive integer');
  }
  if (!unset(instruction) && (typeof instruction !== 'string' || instruction.trim() === '')) {
    throw bad('instruction', 'must be a non-empty string');
  }
  const validSignal = optionalSignal(signal);
  const maxChunks = input.max_chunks_per_doc ?? 1;
  if (typeof maxChunks !== 'number' || !Number.isInteger(maxChunks) || maxChunks < 1 || maxChunks > 1000) {
    throw bad('max_chunks_per_doc', 'must be an integer from 1 to 1000');
  }
  if (maxChunks > 1 && input.truncate === false) {
    throw bad('max_chunks_per_doc', 'chunks a long document instead of refusing it: it cannot go with truncate: false');
  }
  return {
    query,
    documents: texts,
    topN: typeof topN === 'number' ? topN : undefined,
    instruction: typeof instruction === 'string' ? instruction : DEFAULT_INSTRUCTION,
    returnDocuments: requestBoolean(input, 'return_documents', false),
    truncate: requestBoolean(input, 'truncate', true),
    maxChunks,
    signal: validSignal,
  };
}

const isTokenCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;

/** Reranker.tokenize's arguments. */
export function validateTokenizeOptions(text: unknown, options: unknown): { parseSpecial?: boolean; maxTokens?: number } {
  if (typeof text !== 'string') throw bad('text', 'must be a string');
  if (!isPlainObject(options)) throw new RerankError('INVALID_REQUEST', 'tokenize options must be an object');
  checkFields(options, new Set(['parseSpecial', 'maxTokens']), bad);
  const maxTokens = options.maxTokens ?? undefined; // null: unset, as in a request
  if (maxTokens !== undefined && !isTokenCount(maxTokens)) throw bad('maxTokens', 'must be a non-negative integer');
  return { parseSpecial: requestBoolean(options, 'parseSpecial', false), maxTokens };
}

/** Reranker.truncate's arguments. */
export function validateTruncateArguments(text: unknown, maxTokens: unknown, options: unknown): { signal?: AbortSignal } {
  if (typeof text !== 'string') throw bad('text', 'must be a string');
  if (!isTokenCount(maxTokens)) throw bad('maxTokens', 'must be a non-negative integer');
  if (!isPlainObject(options)) throw new RerankError('INVALID_REQUEST', 'truncate options must be an object');
  checkFields(options, new Set(['signal']), bad);
  return { signal: optionalSignal(options.signal) };
}

export function validateLoadOptions(input: unknown): ValidLoadOptions {
  if (!isPlainObject(input)) throw new RerankError('INVALID_OPTIONS', 'load options must be an object');
  checkFields(input, LOAD_FIELDS, badOption);
  const { model, gpu = 'auto', flashAttention = 'auto', kvType = 'f16', weights = 'auto' } = input;
  if (typeof model !== 'string' || model === '') throw badOption('model', 'must be the path of a GGUF file');
  let isFile = false;
  try {
    isFile = statSync(model).isFile();
  } catch {
    throw new RerankError('MODEL_NOT_FOUND', `model file not found: ${model}`, 'model');
  }
  if (!isFile) throw new RerankError('MODEL_NOT_FOUND', `model is not a file: ${model}`, 'model');
  if (!GPU_OPTIONS.includes(gpu as GpuOption)) throw badOption('gpu', `must be one of ${GPU_OPTIONS.join(', ')}`);
  if (!['auto', 'on', 'off'].includes(flashAttention as string)) throw badOption('flashAttention', "must be 'auto', 'on' or 'off'");
  if (kvType !== 'f16' && kvType !== 'f32') throw badOption('kvType', "must be 'f16' or 'f32'");
  if (!WEIGHT_OPTIONS.includes(weights as WeightsOption)) throw badOption('weights', `must be one of ${WEIGHT_OPTIONS.join(', ')}`);
  return {
    model,
    gpu: gpu as GpuOption,
    kvType,
    flashAttention: flashAttention as 'auto' | 'on' | 'off',
    gpuLayers: optionalInteger(input, 'gpuLayers', 0, 100000),
    threads: optionalInteger(input, 'threads', 1, 1024),
    maxLength: optionalInteger(input, 'maxLength', 64, 131072) ?? DEFAULT_MAX_LENGTH,
    batchSize: optionalInteger(input, 'batchSize', 32, 65536),
    sharePrefix: optionBoolean(input, 'sharePrefix', true),
    reproducible: input.reproducible === undefined ? undefined : optionBoolean(input, 'reproducible', true),
    isolate: optionBoolean(input, 'isolate', false),
    weights: weights as WeightsOption,
    kvStreams: optionalInteger(input, 'kvStreams', 0, 256) ?? 0,
    contexts: optionalInteger(input, 'contexts', 1, 8),
    reuseGraphs: optionBoolean(input, 'reuseGraphs', false),
    tokenizeAhead: input.tokenizeAhead === undefined ? undefined : optionBoolean(input, 'tokenizeAhead', false),
  };
}
