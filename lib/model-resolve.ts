// From what a request or a command line calls a model (a GGUF path, or a known name such as
// "qwen/qwen3-reranker-0.6b") to a GGUF file on disk, downloading a known model into the cache on
// first use.
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { downloadModel } from '../models/download.js';
import { progressBar } from '../models/progress.js';
import { KnownModel, findKnownModel, knownModels } from '../models/registry.js';
import { RerankError } from './errors.js';

export const DEFAULT_MODEL_BASE_URL = 'https://huggingface.co';

export interface ResolveOptions {
  /** Default: $LLAMA_RERANK_CACHE, else $XDG_CACHE_HOME/llama-rerank, else ~/.cache/llama-rerank. */
  cacheDir?: string;
  /** Where the repositories are served (default: $LLAMA_RERANK_MODEL_BASE_URL, else Hugging Face). */
  baseUrl?: string;
  /** false: refuse a known model that is not in the cache yet instead of downloading it. */
  download?: boolean;
  /** Default: a progress bar on stderr. */
  onProgress?: (received: number, total: number | undefined) => void;
  /** Default: a line on stderr. */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

export function modelCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LLAMA_RERANK_CACHE) return env.LLAMA_RERANK_CACHE;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'llama-rerank');
}

export function cachedModelPath(model: KnownModel, cacheDir = modelCacheDir()): string {
  return join(cacheDir, model.file);
}

/** Hugging Face's layout (`<base>/<repo>/resolve/main/<file>`), which its mirrors keep too. */
export function modelUrl(model: KnownModel, baseUrl = process.env.LLAMA_RERANK_MODEL_BASE_URL || DEFAULT_MODEL_BASE_URL): string | null {
  if (model.repo === null) return null;
  return `${baseUrl.replace(/\/+$/, '')}/${model.repo}/resolve/main/${model.file}`;
}

/** What the server reports as its model: a known model's name, else the file's name without .gguf. */
export function modelDisplayName(model: string): string {
  return findKnownModel(model)?.name ?? basename(model).replace(/\.gguf$/i, '');
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Downloads in progress, by destination: concurrent first uses share one transfer. */
const inFlight = new Map<string, Promise<string>>();

/**
 * The GGUF file a model argument names: an existing file as it is, a known model's file in the
 * cache (downloaded first when missing). Rejects with RerankError (MODEL_NOT_FOUND, DOWNLOAD_FAILED).
 */
export async function resolveModel(model: string, options: ResolveOptions = {}): Promise<string> {
  if (isFile(model)) return model;
  const known = findKnownModel(model);
  if (!known) {
    const names = knownModels().map((m) => m.name).join(', ');
    throw new RerankError('MODEL_NOT_FOUND', `model not found: "${model}" is neither a GGUF file nor a known model (${names})`, 'model');
  }
  const dest = cachedModelPath(known, options.cacheDir);
  if (existsSync(dest)) return dest;
  const url = modelUrl(known, options.baseUrl);
  if (url === null) {
    throw new RerankError('MODEL_NOT_FOUND', `${known.name}: ${known.source}; then place it at ${dest}`, 'model');
  }
  if (options.download === false) {
    throw new RerankError('MODEL_NOT_FOUND', `${known.name} is not downloaded yet (npx llama-rerank pull ${known.name})`, 'model');
  }
  let pending = inFlight.get(dest);
  if (!pending) {
    pending = fetchInto(known, url, dest, options).finally(() => inFlight.delete(dest));
    inFlight.set(dest, pending);
  }
  return pending;
}

async function fetchInto(known: KnownModel, url: string, dest: string, options: ResolveOptions): Promise<string> {
  const bar = options.onProgress ? undefined : progressBar(`${known.name}`);
  try {
    await downloadModel({
      url,
      dest,
      sha256: known.sha256,
      onProgress: options.onProgress ?? ((received, total) => bar!.update(received, total)),
      onWarning: options.onWarning ?? ((message) => process.stderr.write(`llama-rerank: ${message}\n`)),
      signal: options.signal,
    });
  } finally {
    bar?.done();
  }
  return dest;
}
