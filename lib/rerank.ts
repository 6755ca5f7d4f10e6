// The hosted API's call, in-process: rerank({ model, query, documents, top_n }).
import { resolve } from 'node:path';
import { RerankAbortError, RerankError } from './errors.js';
import { resolveModel } from './model-resolve.js';
import { Reranker } from './reranker.js';
import type { LoadOptions, RerankRequest, RerankResponse } from './types.js';
import { validateRequest } from './validate.js';

const loaded = new Map<string, Promise<Reranker>>();

/**
 * Reranks with the model the request names (a GGUF path, or a known name such as
 * "qwen/qwen3-reranker-0.6b", downloaded into the cache on first use), loading it on first use and
 * keeping it for later calls. `options` apply when the model is loaded.
 */
export async function rerank(request: RerankRequest, options: Omit<LoadOptions, 'model'> = {}): Promise<RerankResponse> {
  if (typeof request !== 'object' || request === null || typeof request.model !== 'string' || request.model === '') {
    throw new RerankError('INVALID_REQUEST', 'model: must name a GGUF file or a known model', 'model');
  }
  if (typeof options !== 'object' || options === null) throw new RerankError('INVALID_OPTIONS', 'load options must be an object');
  // A bad or already aborted request downloads and loads nothing.
  const { signal } = validateRequest(request);
  if (signal?.aborted) throw new RerankAbortError(signal.reason);
  const path = await resolveModel(request.model);
  const key = `${resolve(path)}\0${optionsKey(options)}`;
  let model = loaded.get(key);
  if (!model) {
    model = Reranker.load({ ...options, model: path });
    loaded.set(key, model);
    model.catch(() => loaded.delete(key)); // a failed load is retried by the next call
  }
  return (await model).rerank(request);
}

/** The same options in any key order, an undefined one as absent: one model, loaded once. */
function optionsKey(options: object): string {
  const set = Object.entries(options).filter(([, v]) => v !== undefined);
  return JSON.stringify(set.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Disposes every model rerank() has loaded. */
export async function unloadAll(): Promise<void> {
  const models = [...loaded.values()];
  loaded.clear();
  for (const m of await Promise.allSettled(models)) if (m.status === 'fulfilled') m.value.dispose();
}
