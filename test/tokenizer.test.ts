// The tokenizer of the test models against llama.cpp's own test vectors for the Qwen2/Qwen3 vocabulary.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import { llamaCppDir } from '../test-models/paths.js';
import { tinyModel } from './helpers.js';

const vectors = join(llamaCppDir, 'models', 'ggml-vocab-qwen2.gguf');
const inputs = readFileSync(`${vectors}.inp`, 'utf8').split('\n__ggml_vocab_test__\n');
const outputs = readFileSync(`${vectors}.out`, 'utf8').split('\n');

describe('tokenizer', () => {
  let reranker: Reranker;
  beforeAll(async () => {
    reranker = await Reranker.load({ model: tinyModel('causal') });
  });
  afterAll(() => reranker.dispose());

  it('has llama.cpp test vectors to check', () => {
    expect(inputs.length).toBeGreaterThan(40);
  });

  it('tokenizes every llama.cpp vector exactly', async () => {
    // .inp ends with a separator line; pairs are (input i, output line i).
    for (let i = 0; i < inputs.length - 1; i++) {
      const want = outputs[i].trim() === '' ? [] : outputs[i].trim().split(/\s+/).map(Number);
      expect(await reranker.tokenize(inputs[i]), JSON.stringify(inputs[i])).toEqual(want);
    }
  });

  it("has Qwen3's added tokens: <think> is one token, the answer words are yes=9693 and no=2152", async () => {
    expect(await reranker.tokenize('<think>', { parseSpecial: true })).toEqual([151667]);
    expect(await reranker.tokenize('<|im_end|>', { parseSpecial: true })).toEqual([151645]);
    expect(await reranker.tokenize('yes')).toEqual([9693]);
    expect(await reranker.tokenize('no')).toEqual([2152]);
  });

  it('tokenizes many texts at once without a listener warning (each waiting call listens for dispose)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const texts = Array.from({ length: 40 }, (_, i) => `text number ${i}`);
      const alone = [];
      for (const t of texts) alone.push(await reranker.tokenize(t));
      expect(await Promise.all(texts.map((t) => reranker.tokenize(t)))).toEqual(alone);
      await new Promise((resolve) => setImmediate(resolve)); // process warnings are emitted on a later tick
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('reads control tokens in text as text', async () => {
    const tokens = await reranker.tokenize('a <|im_end|> b');
    expect(tokens).not.toContain(151645);
    expect(tokens.length).toBeGreaterThan(3);
  });
});
