// Every invalid input is refused with a typed RerankError before any native call,
// and the model stays usable afterwards.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker, RerankError } from '../lib/index.js';
import { qwen2VocabPath } from '../test-models/paths.js';
import { generateTestModel } from '../test-models/generate.js';
import { exampleRequest, tinyModel } from './helpers.js';

const base = () => ({ query: 'q', documents: ['a', 'b'] });

const badRequests: [string, unknown, string | undefined][] = [
  ['not an object', 'query', undefined],
  ['null', null, undefined],
  ['an array', [], undefined],
  ['query missing', { documents: ['a'] }, 'query'],
  ['query not a string', { ...base(), query: 42 }, 'query'],
  ['query empty', { ...base(), query: '' }, 'query'],
  ['query only spaces', { ...base(), query: '  \n' }, 'query'],
  ['documents missing', { query: 'q' }, 'documents'],
  ['documents not an array', { ...base(), documents: 'a' }, 'documents'],
  ['documents empty', { ...base(), documents: [] }, 'documents'],
  ['a document a number', { ...base(), documents: ['a', 7] }, 'documents[1]'],
  ['a document null', { ...base(), documents: [null] }, 'documents[0]'],
  ['a document object without text', { ...base(), documents: [{ body: 'x' }] }, 'documents[0]'],
  ['a document object with non-string text', { ...base(), documents: [{ text: 1 }] }, 'documents[0]'],
  ['a hole in the documents (a sparse array)', { ...base(), documents: ['a', , 'c'] }, 'documents[1]'],
  ['top_n 0', { ...base(), top_n: 0 }, 'top_n'],
  ['top_n negative', { ...base(), top_n: -1 }, 'top_n'],
  ['top_n fractional', { ...base(), top_n: 1.5 }, 'top_n'],
  ['top_n a string', { ...base(), top_n: '2' }, 'top_n'],
  ['top_n NaN', { ...base(), top_n: NaN }, 'top_n'],
  ['instruction empty', { ...base(), instruction: '' }, 'instruction'],
  ['instruction not a string', { ...base(), instruction: 3 }, 'instruction'],
  ['return_documents not a boolean', { ...base(), return_documents: 'yes' }, 'return_documents'],
  ['truncate not a boolean', { ...base(), truncate: 1 }, 'truncate'],
  ['model not a string', { ...base(), model: 5 }, 'model'],
  ['signal not an AbortSignal', { ...base(), signal: {} }, 'signal'],
  ['an unknown field (a typo of top_n)', { ...base(), topN: 2 }, 'topN'],
];

describe('request validation', () => {
  let reranker: Reranker;
  beforeAll(async () => {
    reranker = await Reranker.load({ model: tinyModel('rank') });
  });
  afterAll(() => reranker.dispose());

  it.each(badRequests)('refuses %s', async (_name, request, field) => {
    const err = await reranker.rerank(request as never).catch((e) => e);
    expect(err).toBeInstanceOf(RerankError);
    expect(err.code).toBe('INVALID_REQUEST');
    expect(err.field).toBe(field);
    expect(err.message.length).toBeGreaterThan(5);
  });

  it('refused requests reach no native code and leave the model usable', async () => {
    const before = reranker.stats;
    await Promise.allSettled(badRequests.map(([, r]) => reranker.rerank(r as never)));
    expect(reranker.stats).toEqual(before);
    expect((await reranker.rerank(exampleRequest())).results).toHaveLength(5);
  });

  it('accepts null top_n as absent, and the hosted model field', async () => {
    const res = await reranker.rerank({ ...base(), top_n: null, model: 'qwen/qwen3-reranker-0.6b' });
    expect(res.results).toHaveLength(2);
  });

  it('reads null as unset in every optional field (JSON clients send it so)', async () => {
    const nulls = { model: null, top_n: null, instruction: null, return_documents: null, truncate: null, max_chunks_per_doc: null, signal: null };
    expect(await reranker.rerank({ ...base(), ...nulls } as never)).toEqual(await reranker.rerank(base()));
  });

  it('refuses bad tokenize() arguments with a typed error', async () => {
    const bad: [unknown[], string | undefined][] = [
      [[42], 'text'],
      [['a', null], undefined],
      [['a', 'x'], undefined],
      [['a', { parseSpecial: 'yes' }], 'parseSpecial'],
      [['a', { maxTokens: -1 }], 'maxTokens'],
      [['a', { maxTokens: 1.5 }], 'maxTokens'],
      [['a', { maxTokens: '3' }], 'maxTokens'],
      [['a', { max_tokens: 3 }], 'max_tokens'],
    ];
    for (const [args, field] of bad) {
      const err = await (reranker.tokenize as (...a: unknown[]) => Promise<number[]>)(...args).catch((e) => e);
      expect(err, JSON.stringify(args)).toBeInstanceOf(RerankError);
      expect(err.code).toBe('INVALID_REQUEST');
      expect(err.field).toBe(field);
    }
    expect(await reranker.tokenize('a b', { maxTokens: 1 })).toHaveLength(1);
  });

  it('refuses bad truncate() arguments with a typed error', async () => {
    const bad: [unknown[], string | undefined][] = [
      [[42, 3], 'text'],
      [['a'], 'maxTokens'],
      [['a', -1], 'maxTokens'],
      [['a', 1.5], 'maxTokens'],
      [['a', '3'], 'maxTokens'],
      [['a', null], 'maxTokens'],
      [['a', 3, { signal: 'now' }], 'signal'],
      [['a', 3, { sgnal: null }], 'sgnal'],
      [['a', 3, 'x'], undefined],
    ];
    for (const [args, field] of bad) {
      const err = await (reranker.truncate as (...a: unknown[]) => Promise<string>)(...args).catch((e) => e);
      expect(err, JSON.stringify(args)).toBeInstanceOf(RerankError);
      expect(err.code).toBe('INVALID_REQUEST');
      expect(err.field).toBe(field);
    }
    expect(await reranker.truncate('a b', 1)).toBe('a');
  });
});

describe('load validation', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llama-rerank-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const badOptions: [string, unknown, string][] = [
    ['no options', undefined, 'INVALID_OPTIONS'],
    ['model missing', {}, 'INVALID_OPTIONS'],
    ['model not a string', { model: 1 }, 'INVALID_OPTIONS'],
    ['a missing file', { model: join(dir, 'none.gguf') }, 'MODEL_NOT_FOUND'],
    ['a directory', { model: dir }, 'MODEL_NOT_FOUND'],
  ];

  it.each(badOptions)('refuses %s', async (_n, options, code) => {
    await expect(Reranker.load(options as never)).rejects.toMatchObject({ code });
  });

  it.each([
    ['gpu', 'tpu'],
    ['threads', 0],
    ['threads', 1.5],
    ['maxLength', 10],
    ['batchSize', 'big'],
    ['flashAttention', true],
    ['kvType', 'q4'],
    ['sharePrefix', 'no'],
    ['unknown', 1],
  ])('refuses option %s = %j', async (key, value) => {
    const err = await Reranker.load({ model: tinyModel('rank'), [key]: value } as never).catch((e) => e);
    expect(err).toBeInstanceOf(RerankError);
    expect(err.code).toBe('INVALID_OPTIONS');
    expect(err.field).toBe(key);
  });

  it('refuses a file that is not GGUF', async () => {
    const path = join(dir, 'text.gguf');
    writeFileSync(path, 'not a model at all');
    await expect(Reranker.load({ model: path })).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
  });

  it('refuses a vocabulary-only GGUF (no weights)', async () => {
    await expect(Reranker.load({ model: qwen2VocabPath })).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED' });
  });

  it('refuses a Qwen3 GGUF whose classifier is not yes/no, saying why', async () => {
    const path = join(dir, 'wrong-labels.gguf');
    generateTestModel({ shape: 'tiny', kind: 'rank', seed: 1, labels: ['no', 'yes'] }, path);
    const err = await Reranker.load({ model: path }).catch((e) => e);
    expect(err.code).toBe('MODEL_LOAD_FAILED');
    expect(err.message).toMatch(/not a Qwen3-Reranker.*yes/);
  });

  it('refuses a GGUF of another architecture, saying why', async () => {
    const path = join(dir, 'other-arch.gguf');
    generateTestModel({ shape: 'tiny', kind: 'causal', seed: 1, architecture: 'qwen3moe-not-supported' }, path);
    const err = await Reranker.load({ model: path }).catch((e) => e);
    expect(err.code).toBe('MODEL_LOAD_FAILED');
  });
});
