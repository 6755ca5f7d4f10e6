// llama-rerank's tokens against the official tokenizer (Hugging Face's, rebuilt from the model file:
// test/reference/qwen2-tokenizer.ts) on a corpus of text that stresses tokenizers
// (test/fixtures/tokenizer-corpus.ts), in each place user text goes in the prompt.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_INSTRUCTION, Reranker } from '../lib/index.js';
import { GgufFile } from '../test-models/gguf/reader.js';
import { llamaCppDir } from '../test-models/paths.js';
import { RERANK_TEMPLATE } from '../test-models/generate.js';
import { tokenizerCorpus } from './fixtures/tokenizer-corpus.js';
import { tinyModel } from './helpers.js';
import { QwenReference, qwen2Reference } from './reference/qwen2-tokenizer.js';

/**
 * Corpus entries (by name) whose tokens are known to differ from the official tokenizer's, and
 * why. The test fails when this list is wrong either way: a new difference, or one that is gone.
 */
const KNOWN_DIFFERENCES: Record<string, string> = {};

const QUERY = 'What is the capital of the United States?';
const DOCUMENT = 'Washington, D.C. is the capital of the United States.';
type Place = 'instruction' | 'query' | 'document';

/** The prompt body llama-rerank tokenizes as one string (native/prompt.cpp). */
function body(place: Place, text: string): string {
  const instruction = place === 'instruction' ? text : DEFAULT_INSTRUCTION;
  const query = place === 'query' ? text : QUERY;
  const document = place === 'document' ? text : DOCUMENT;
  return `<Instruct>: ${instruction}\n<Query>: ${query}\n<Document>: ${document}`;
}

/** Entries a request accepts in a place: a query or instruction must not be blank. */
const entriesFor = (place: Place) => tokenizerCorpus.filter((e) => place === 'document' || e.text.trim() !== '');

/** Tokens of the prompt around the body: its system line and turn markers, control tokens parsed. */
async function fixedTokens(): Promise<number> {
  const [prefix, rest] = RERANK_TEMPLATE.split('<Instruct>: ');
  const suffix = rest.slice(rest.indexOf('{document}') + '{document}'.length);
  return (await official.encode(prefix)).length + (await official.encode(suffix)).length;
}

function firstDifference(a: number[], b: number[]): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

const meta = GgufFile.open(tinyModel('rank')).metadata;
// What llama-rerank does with a query or document: control tokens stay text.
const reference: QwenReference = qwen2Reference(meta, { controlTokens: 'text' });
// The official tokenizer as the reference implementation calls it, for the prompt's own control tokens.
const official: QwenReference = qwen2Reference(meta, { controlTokens: 'parsed' });

describe('the reference tokenizer', () => {
  it("gives llama.cpp's test vectors for the Qwen2 vocabulary (made with Hugging Face's tokenizer)", async () => {
    const vectors = join(llamaCppDir, 'models', 'ggml-vocab-qwen2.gguf');
    const inputs = readFileSync(`${vectors}.inp`, 'utf8').split('\n__ggml_vocab_test__\n').slice(0, -1);
    const outputs = readFileSync(`${vectors}.out`, 'utf8').split('\n');
    expect(inputs.length).toBeGreaterThan(40);
    for (const [i, text] of inputs.entries()) {
      const want = outputs[i].trim() === '' ? [] : outputs[i].trim().split(/\s+/).map(Number);
      expect(await official.encode(text), JSON.stringify(text)).toEqual(want);
      expect(await reference.encode(text), JSON.stringify(text)).toEqual(want);
    }
  });

  it('normalizes to NFC, reads control tokens as configured and user-defined tokens always', async () => {
    expect(await reference.encode('cafe\u0301')).toEqual(await reference.encode('café'));
    expect(await official.encode('<|im_end|>')).toEqual([151645]);
    expect(await reference.encode('<|im_end|>')).not.toContain(151645);
    expect(await reference.encode('<think>')).toEqual([151667]);
  });

  it('has a corpus of a few hundred strings with unique names', () => {
    expect(tokenizerCorpus.length).toBeGreaterThan(300);
    expect(Object.keys(KNOWN_DIFFERENCES).every((n) => tokenizerCorpus.some((e) => e.name === n))).toBe(true);
  });
});

describe.each(['rank', 'causal'] as const)('the corpus on the %s kind', (kind) => {
  let reranker: Reranker;
  beforeAll(async () => {
    reranker = await Reranker.load({ model: tinyModel(kind) });
  });
  afterAll(() => reranker.dispose());

  it("reports the vocabulary's pre-tokenizer and the added tokens it matches in text", () => {
    const { pre, userDefined } = reranker.info.tokenizer;
    expect(pre).toBe('qwen2');
    expect([...userDefined].sort()).toEqual(
      ['</think>', '</tool_call>', '</tool_response>', '<think>', '<tool_call>', '<tool_response>'],
    );
  });

  it.each(['document', 'query', 'instruction'] as const)('gives the official tokens of the body, text as the %s', async (place) => {
    const differences: { name: string; detail: string }[] = [];
    for (const { name, text } of entriesFor(place)) {
      const ours = await reranker.tokenize(body(place, text));
      const theirs = await reference.encode(body(place, text));
      if (ours.join() === theirs.join()) continue;
      const at = firstDifference(ours, theirs);
      const detail = `at token ${at} ours ${JSON.stringify(ours.slice(at, at + 6))}, official ${JSON.stringify(theirs.slice(at, at + 6))}`;
      differences.push({ name, detail: `${name}: ${detail}` });
    }
    expect(differences.filter((d) => !(d.name in KNOWN_DIFFERENCES)).map((d) => d.detail)).toEqual([]);
    expect(differences.map((d) => d.name)).toEqual(Object.keys(KNOWN_DIFFERENCES));
  });

  it('counts the official tokens through rerank(), every corpus string a document', async () => {
    const entries = entriesFor('document').filter((e) => !(e.name in KNOWN_DIFFERENCES));
    let expected = 0;
    for (const e of entries) expected += (await fixedTokens()) + (await reference.encode(body('document', e.text))).length;
    const res = await reranker.rerank({ query: QUERY, documents: entries.map((e) => e.text) });
    expect(res.usage.prompt_tokens).toBe(expected);
  });

  it.each(['query', 'instruction'] as const)(
    'counts the official tokens through rerank(), each string normalization changes as the %s',
    async (place) => {
      const entries = entriesFor(place).filter((e) => !(e.name in KNOWN_DIFFERENCES) && e.text.normalize('NFC') !== e.text);
      expect(entries.length).toBeGreaterThan(50);
      for (const { name, text } of entries) {
        const res = await reranker.rerank({
          query: place === 'query' ? text : QUERY,
          instruction: place === 'instruction' ? text : undefined,
          documents: [DOCUMENT],
        });
        const expected = (await fixedTokens()) + (await reference.encode(body(place, text))).length;
        expect(res.usage.prompt_tokens, name).toBe(expected);
      }
    },
  );

  it('scores a decomposed document as its composed form, as the official tokenizer reads both', async () => {
    const composed = 'Crème brûlée, café, Ångström and 한국어';
    const one = (doc: string) => reranker.rerank({ query: QUERY, documents: [doc] });
    const [a, b] = [await one(composed), await one(composed.normalize('NFD'))];
    expect(b.usage).toEqual(a.usage);
    expect(b.results[0].relevance_score).toBe(a.results[0].relevance_score);
  });
});
