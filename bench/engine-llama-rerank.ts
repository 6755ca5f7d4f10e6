// Child process: llama-rerank on the workloads, or (spec.ceiling) the raw prompt-processing
// ceiling of the same build: single sequences of `sequenceTokens` tokens, one per request, one
// decode call each, nothing shared, nothing packed — llama-bench's pp512. A single sequence as long
// as a whole workload would not be a ceiling: its attention grows with its length (quadratically in
// total), so at 5–20k tokens it runs at half the rate of short pairs or less.
import { Reranker } from '../lib/index.js';
import { ChildSpec, readSpec, readWorkloads, runChild } from './child.js';
import { configEnv } from './configs.js';
import type { Engine, Timed, TokenTotals } from './measure.js';
import { prng, words } from './texts.js';

const spec: ChildSpec = readSpec();

/** One sequence a pass. At least a token a word: the pair is cut to exactly maxLength tokens (truncate). */
function ceilingWorkload(c: NonNullable<ChildSpec['ceiling']>): Timed {
  return { id: 'ceiling', requests: [{ query: 'ceiling', documents: [words(prng(7), c.sequenceTokens).join(' ')] }] };
}

const workloads = spec.ceiling ? [ceilingWorkload(spec.ceiling)] : readWorkloads(spec);

await runChild(workloads, async () => {
  const reranker = await Reranker.load({
    model: spec.model,
    gpu: spec.backend,
    threads: spec.threads,
    ...(spec.ceiling ? { maxLength: spec.ceiling.sequenceTokens, sharePrefix: false } : {}),
    ...spec.config?.load,
  });
  const engine: Engine = {
    async rank(request) {
      const res = await reranker.rerank({ ...request, truncate: true });
      const scores: number[] = [];
      for (const r of res.results) scores[r.index] = r.relevance_score;
      return scores;
    },
    totals: () => {
      // decodeCalls, decodeMs and graphsReused come with newer native modules; older ones leave them out.
      const s: TokenTotals = reranker.stats;
      return {
        promptTokens: s.promptTokens, computedTokens: s.computedTokens, decodeCalls: s.decodeCalls ?? undefined, decodeMs: s.decodeMs ?? undefined,
        graphsReused: s.graphsReused ?? undefined,
      };
    },
  };
  const i = reranker.info;
  return {
    engine,
    settings: {
      threads: i.threads, backend: i.backend, devices: i.devices, flashAttention: i.flashAttention, kvType: i.kvType,
      contextSize: i.contextSize, batchSize: i.batchSize, ubatchSize: i.ubatchSize, maxLength: i.maxLength,
      sharePrefix: !spec.ceiling && spec.config?.load?.sharePrefix !== false, env: spec.config ? configEnv(spec.config) : undefined,
      kind: i.kind, description: i.description,
      // the type in effect: llama.cpp's description ends with the loaded weights' type
      weights: i.weightsConvertedAtLoad ? 'BF16, converted at load' : i.description.split(' ').pop(),
    },
  };
});
