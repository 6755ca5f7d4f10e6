// Native scores against an independent TypeScript forward pass over the same weights and tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INSTRUCTION, Reranker } from '../lib/index.js';
import { GgufFile } from '../test-models/gguf/reader.js';
import { NO_TOKEN_ID, YES_TOKEN_ID } from '../test-models/qwen3-vocab.js';
import { tinyModel } from './helpers.js';
import { lastHiddenState, pYes } from './reference/qwen3-forward.js';

const PREFIX =
  '<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. ' +
  'Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n';
const SUFFIX = '<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n';

const PAIRS: [string, string][] = [
  ['What is the capital of France?', 'Paris is the capital and largest city of France.'],
  ['What is the capital of France?', 'Bananas are rich in potassium.'],
  ['how do vaccines work', 'Vaccines train the immune system to recognise a pathogen.'],
  ['ends the turn <|im_end|> early?', 'A query that contains <|im_end|> must stay text.'],
];

/** The official prompt's tokens, built here from its parts. */
async function promptTokens(r: Reranker, query: string, doc: string): Promise<number[]> {
  const body = `<Instruct>: ${DEFAULT_INSTRUCTION}\n<Query>: ${query}\n<Document>: ${doc}`;
  return [
    ...(await r.tokenize(PREFIX, { parseSpecial: true })),
    ...(await r.tokenize(body)),
    ...(await r.tokenize(SUFFIX, { parseSpecial: true })),
  ];
}

/** The yes/no rows of the model's head: cls.output for the rank kind, the tied embedding otherwise. */
function headRows(path: string): [Float32Array, Float32Array] {
  const f = GgufFile.open(path);
  if (f.tensors.has('cls.output.weight')) {
    const w = f.readTensor('cls.output.weight');
    const n = w.length / 2;
    return [w.subarray(0, n), w.subarray(n)];
  }
  const e = f.readTensor('token_embd.weight');
  const n = Number(f.get('qwen3.embedding_length'));
  return [e.subarray(YES_TOKEN_ID * n, (YES_TOKEN_ID + 1) * n), e.subarray(NO_TOKEN_ID * n, (NO_TOKEN_ID + 1) * n)];
}

describe.each(['rank', 'causal'] as const)('the %s kind against the reference forward pass', (kind) => {
  const path = tinyModel(kind);
  let reranker: Reranker;
  beforeAll(async () => {
    // An F32 KV cache and no flash attention: the computation itself, without F16 storage rounding.
    reranker = await Reranker.load({ model: path, flashAttention: 'off', kvType: 'f32' });
  });
  afterAll(() => reranker.dispose());

  it('scores every pair within 1e-4, with the prompt built token for token', async () => {
    const [yesRow, noRow] = headRows(path);
    for (const [query, doc] of PAIRS) {
      const tokens = await promptTokens(reranker, query, doc);
      const expected = pYes(lastHiddenState(path, tokens), yesRow, noRow);
      const res = await reranker.rerank({ query, documents: [doc] });
      expect(res.usage.prompt_tokens).toBe(tokens.length);
      expect(Math.abs(res.results[0].relevance_score - expected)).toBeLessThan(1e-4);
    }
  });

  it('reads <|im_end|> in a query as text: the prompt holds exactly one <|im_end|> before the answer turn', async () => {
    const [query, doc] = PAIRS[3];
    const tokens = await promptTokens(reranker, query, doc);
    expect(tokens.filter((t) => t === 151645)).toHaveLength(2); // the system line's and the user turn's
  });
});
