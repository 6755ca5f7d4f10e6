// Child process: the peer, node-llama-cpp 3.21.1's LlamaRankingContext.rankAll, on the same
// model file and documents. It needs a GGUF with a classifier head (cls.output.weight) and a
// rerank template or EOS/SEP tokens; it scores one document at a time on one sequence.
import { LlamaLogLevel, getLlama } from 'node-llama-cpp';
import { readSpec, readWorkloads, runChild } from './child.js';
import type { Engine } from './measure.js';

const spec = readSpec();

await runChild(readWorkloads(spec), async () => {
  const gpu = spec.backend === 'cpu' ? false : spec.backend;
  const llama = await getLlama({ gpu, build: 'never', logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: spec.model });
  // Options left out take node-llama-cpp's defaults (threads 6, capped at getLlama's maxThreads;
  // context "auto": as large as memory allows, up to the training context).
  const context = await model.createRankingContext({
    ...(spec.threads !== undefined ? { threads: spec.threads } : {}),
    ...(spec.contextSize !== undefined ? { contextSize: spec.contextSize } : {}),
  });
  let computedTokens = 0;
  const engine: Engine = {
    async rank({ query, documents }) {
      // What rankAll evaluates: its template, tokenized piece by piece (see the README's Benchmarks).
      for (const d of documents) computedTokens += context.calculateInputLength(query, d);
      return context.rankAll(query, documents);
    },
    // node-llama-cpp reports no usage: the parent takes the prompt tokens from llama-rerank's count of the same pairs.
    totals: () => ({ promptTokens: 0, computedTokens }),
  };
  // The thread count the context really uses is internal; it is read for the record only.
  const inner = (context as unknown as { _llamaContext?: { idealThreads?: number; batchSize?: number; flashAttention?: unknown } })._llamaContext;
  return {
    engine,
    settings: {
      threads: inner?.idealThreads ?? spec.threads ?? 'default', backend: llama.gpu === false ? 'CPU' : llama.gpu,
      buildType: llama.buildType, release: llama.llamaCppRelease.release, contextSize: context.contextSize,
      batchSize: inner?.batchSize, flashAttention: inner?.flashAttention, maxThreads: llama.maxThreads,
    },
  };
});
