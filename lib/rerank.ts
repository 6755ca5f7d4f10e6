// The hosted API's call, in-process: rerank({ model, query, documents, top_n }).
import { resolve } from 'node:path';
import { RerankError } from './errors.js';
import { resolveModel } from './model-resolve.js';
import { Reranker } from './reranker.js';
import type { LoadOptions, RerankRequest, RerankResponse } from './types.js';

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
  const path = await resolveModel(request.model);
  const key = `${resolve(path)}\0${JSON.stringify(options)}`;
  let model = loaded.get(key);
  if (!model) {
    model = Reranker.load({ ...options, model: path });
    loaded.set(key, model);
    model.catch(() => loaded.delete(key)); // a failed load is retried by the next call
  }
  return (await model).rerank(request);
}

/** Disposes every model rerank() has loaded. */
export async function unloadAll(): Promise<void> {
  const models = [...loaded.values()];
  loaded.clear();
  for (const m of await Promise.allSettled(models)) if (m.status === 'fulfilled') m.value.dispose();
}
