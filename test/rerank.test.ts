// The public API on the tiny models: response shape, ordering, top_n, usage and the invariances
// a reranker must keep (batching, shared prefix, model kind).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Reranker, RerankError, rerank, unloadAll } from '../lib/index.js';
import { nativeModule } from '../lib/native.js';
import { packageRoot } from '../models/paths.js';
import { exampleRequest, hostedExample, scoresByIndex, tinyModel } from './helpers.js';

const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));

describe('rerank()', () => {
  let rank: Reranker;
  let causal: Reranker;
  beforeAll(async () => {
    rank = await Reranker.load({ model: tinyModel('rank'), flashAttention: 'off' });
    causal = await Reranker.load({ model: tinyModel('causal'), flashAttention: 'off' });
  });
  afterAll(() => {
    rank.dispose();
    causal.dispose();
  });

  it('answers in the hosted API shape: results most relevant first, usage counted', async () => {
    const res = await rank.rerank(exampleRequest());
    expect(Object.keys(res).sort()).toEqual(['results', 'usage']);
    expect(res.results).toHaveLength(hostedExample.response.results.length);
    for (const r of res.results) {
      expect(Object.keys(r).sort()).toEqual(['index', 'relevance_score']);
      expect(r.relevance_score).toBeGreaterThan(0);
      expect(r.relevance_score).toBeLessThan(1);
    }
    const scores = res.results.map((r) => r.relevance_score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    expect(res.results.map((r) => r.index).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(res.usage.completion_tokens).toBe(0);
    expect(res.usage.total_tokens).toBe(res.usage.prompt_tokens);
  });

  it("counts prompt tokens as the hosted API did with the real tokenizer (632 for its example)", async () => {
    const res = await rank.rerank(exampleRequest());
    expect(res.usage.prompt_tokens).toBe(hostedExample.response.usage.prompt_tokens);
  });

  it('top_n keeps the best n; larger than the list keeps all', async () => {
    const all = await rank.rerank(exampleRequest());
    const top2 = await rank.rerank({ ...exampleRequest(), top_n: 2 });
    expect(top2.results).toEqual(all.results.slice(0, 2));
    expect(top2.usage).toEqual(all.usage);
    expect((await rank.rerank({ ...exampleRequest(), top_n: 50 })).results).toHaveLength(5);
  });

  it('takes { text } documents and returns documents on request', async () => {
    const req = exampleRequest();
    const asStrings = await rank.rerank(req);
    const asObjects = await rank.rerank({
      ...req,
      documents: req.documents.map((d) => ({ text: d as string })),
      return_documents: true,
    });
    expect(scoresByIndex(asObjects)).toEqual(scoresByIndex(asStrings));
    for (const r of asObjects.results) expect(r.document).toEqual({ text: req.documents[r.index] });
  });

  it('a custom instruction changes the score', async () => {
    const req = exampleRequest();
    const a = scoresByIndex(await rank.rerank(req));
    const b = scoresByIndex(await rank.rerank({ ...req, instruction: 'Find passages about punishment' }));
    expect(maxDiff(a, b)).toBeGreaterThan(1e-3);
  });

  it('both GGUF kinds give the same scores for the same weights', async () => {
    const a = scoresByIndex(await rank.rerank(exampleRequest()));
    const b = scoresByIndex(await causal.rerank(exampleRequest()));
    expect(maxDiff(a, b)).toBeLessThan(1e-4);
  });

  it("a pair's score does not depend on the other pairs in its batch", async () => {
    const req = exampleRequest();
    const batched = scoresByIndex(await rank.rerank(req));
    const single: number[] = [];
    for (const doc of req.documents) single.push((await rank.rerank({ query: req.query, documents: [doc] })).results[0].relevance_score);
    expect(maxDiff(batched, single)).toBeLessThan(1e-4);
  });

  it('the same request gives the same scores every time', async () => {
    const a = scoresByIndex(await rank.rerank(exampleRequest()));
    const b = scoresByIndex(await rank.rerank(exampleRequest()));
    expect(b).toEqual(a);
  });

  it('sharing the prompt prefix computes fewer tokens and changes no score', async () => {
    const unshared = await Reranker.load({ model: tinyModel('rank'), flashAttention: 'off', sharePrefix: false });
    try {
      const before = rank.stats;
      const shared = await rank.rerank(exampleRequest());
      const after = rank.stats;
      const plain = await unshared.rerank(exampleRequest());
      expect(maxDiff(scoresByIndex(shared), scoresByIndex(plain))).toBeLessThan(1e-4);
      expect(shared.usage).toEqual(plain.usage);
      expect(after.computedTokens - before.computedTokens).toBeLessThan(shared.usage.prompt_tokens);
      expect(unshared.stats.computedTokens).toBe(plain.usage.prompt_tokens);
    } finally {
      unshared.dispose();
    }
  });

  it('flash attention (ggml CPU kernels, lower precision) stays within 2e-3 of the exact path', async () => {
    const fa = await Reranker.load({ model: tinyModel('rank'), flashAttention: 'on' });
    try {
      const a = scoresByIndex(await fa.rerank(exampleRequest()));
      const b = scoresByIndex(await rank.rerank(exampleRequest()));
      expect(maxDiff(a, b)).toBeLessThan(2e-3);
    } finally {
      fa.dispose();
    }
  });

  it('requests longer than one decode call are split across calls with the same scores', async () => {
    const small = await Reranker.load({ model: tinyModel('rank'), flashAttention: 'off', batchSize: 32 });
    try {
      const a = scoresByIndex(await small.rerank(exampleRequest()));
      const b = scoresByIndex(await rank.rerank(exampleRequest()));
      expect(maxDiff(a, b)).toBeLessThan(1e-4);
    } finally {
      small.dispose();
    }
  });

  it('truncates a long body to maxLength tokens, or refuses it with truncate: false', async () => {
    const short = await Reranker.load({ model: tinyModel('rank'), flashAttention: 'off', maxLength: 128 });
    try {
      const long = 'word '.repeat(500);
      const res = await short.rerank({ query: 'q', documents: ['short document', long] });
      const [, longPair] = (await Promise.all(
        ['short document', long].map((d) => short.rerank({ query: 'q', documents: [d] })),
      )).map((r) => r.usage.prompt_tokens);
      expect(longPair).toBe(128);
      expect(res.usage.prompt_tokens).toBeLessThan(128 * 2);
      const err = await short.rerank({ query: 'q', documents: ['ok', long], truncate: false }).catch((e) => e);
      expect(err).toBeInstanceOf(RerankError);
      expect(err.code).toBe('DOCUMENT_TOO_LONG');
      expect(err.field).toBe('documents[1]');
      // the model is still usable
      expect((await short.rerank({ query: 'q', documents: ['ok'] })).results).toHaveLength(1);
    } finally {
      short.dispose();
    }
  });

  it('serves concurrent calls, each with its own answer', async () => {
    const req = exampleRequest();
    const alone = scoresByIndex(await rank.rerank(req));
    const many = await Promise.all(Array.from({ length: 8 }, () => rank.rerank(req)));
    for (const r of many) expect(maxDiff(scoresByIndex(r), alone)).toBeLessThan(1e-4);
  });
});

describe('the top-level rerank(request)', () => {
  afterAll(() => unloadAll());

  it('takes the hosted API request body as it is, with model naming a GGUF file', async () => {
    const req = { ...exampleRequest(), model: tinyModel('rank') };
    const res = await rerank(req, { flashAttention: 'off' });
    expect(res.results).toHaveLength(req.top_n!);
    const again = await rerank(req, { flashAttention: 'off' });
    expect(again).toEqual(res);
  });

  it('refuses a request without a model', async () => {
    await expect(rerank({ ...exampleRequest(), model: undefined })).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
  });

  it('loads a model once for the same options in any key order', async () => {
    const load = vi.spyOn(Reranker, 'load');
    try {
      const req = { ...exampleRequest(), model: tinyModel('rank') };
      const a = await rerank(req, { maxLength: 512, threads: 1 });
      const b = await rerank(req, { threads: 1, maxLength: 512, batchSize: undefined });
      expect(b).toEqual(a);
      expect(load).toHaveBeenCalledTimes(1);
    } finally {
      load.mockRestore();
    }
  });
});

describe('lifetime', () => {
  it('refuses calls after dispose, and dispose is idempotent', async () => {
    const r = await Reranker.load({ model: tinyModel('rank') });
    r.dispose();
    r.dispose();
    expect(r.disposed).toBe(true);
    await expect(r.rerank(exampleRequest())).rejects.toMatchObject({ code: 'DISPOSED' });
    await expect(r.truncate('hi', 5)).rejects.toMatchObject({ code: 'DISPOSED' }); // short enough to need no tokenizing
    await expect(r.tokenize('hi')).rejects.toMatchObject({ code: 'DISPOSED' });
  });

  it("a truncate() whose signal aborts while it waits its turn leaves the line: native code never sees it", async () => {
    // Two cuts take both places (libuv's 4 threads less scoring's 2: UV_THREADPOOL_SIZE is unset here).
    const r = await Reranker.load({ model: tinyModel('rank') });
    const native = nativeModule();
    const long = (tail: string) => `${' '.repeat(2 << 20)}${tail}`;
    let before = native.tokenizedBytes();
    await r.truncate(long('a'), 8000);
    const oneCut = native.tokenizedBytes() - before;
    before = native.tokenizedBytes();
    const busy = [r.truncate(long('b'), 8000), r.truncate(long('c'), 8000)];
    const ctl = new AbortController();
    const waiting = r.truncate(long('d'), 8000, { signal: ctl.signal });
    ctl.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError', code: 'ABORTED' });
    await Promise.all(busy);
    expect(native.tokenizedBytes() - before).toBe(2 * oneCut);
    await expect(r.truncate(long('e'), 8000, { signal: ctl.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    r.dispose();
  });

  it('dispose while a request runs stops it in native code and rejects it and the queued ones', async () => {
    const r = await Reranker.load({ model: tinyModel('rank') });
    // 8 documents of ~2,000 tokens: about 32 decode calls of 512 tokens if nothing stopped them
    const documents = Array.from({ length: 8 }, (_, i) => `${i} ${'word '.repeat(1900)}`);
    const running = r.rerank({ query: 'q', documents }).catch((e: unknown) => e);
    const queued = r.rerank(exampleRequest()).catch((e: unknown) => e);
    await r[Symbol.asyncDispose](); // resolves once native code has let go
    expect(await running).toMatchObject({ code: 'DISPOSED' });
    expect(await queued).toMatchObject({ code: 'DISPOSED' });
    // stopped before its first decode call, or inside the one already running
    expect(r.stats.decodeCalls).toBeLessThanOrEqual(1);
  });

  it('dispose() from an onStart hook rejects every request of that call with DISPOSED', async () => {
    const r = await Reranker.load({ model: tinyModel('rank') });
    // Two calls keep the model busy (as many as run at once), so the next three wait and go together.
    const busy = [0, 1].map(() => r.rerank({ query: 'q', documents: Array.from({ length: 16 }, (_, i) => `${i} ${'word '.repeat(60)}`) }));
    const requests = Array.from({ length: 3 }, (_, i) =>
      r.rerank(exampleRequest(), i === 0 ? { onStart: () => r.dispose() } : {}).catch((e: unknown) => e),
    );
    await Promise.allSettled(busy); // the second may still run when the hook disposes
    for (const err of await Promise.all(requests)) expect(err).toMatchObject({ code: 'DISPOSED' });
  });

  it('a request cancelled in flight is no failure on stderr (llama.cpp logs the stop as one)', () => {
    const script = `
      import { Reranker } from ${JSON.stringify(pathToFileURL(join(packageRoot, 'dist', 'lib', 'index.js')).href)};
      const r = await Reranker.load({ model: ${JSON.stringify(tinyModel('rank'))} });
      const ctl = new AbortController();
      const running = r.rerank({ query: 'q', documents: Array.from({ length: 8 }, (_, i) => i + ' ' + 'word '.repeat(1900)), signal: ctl.signal }, { onStart: () => setTimeout(() => ctl.abort(), 50) });
      console.log((await running.catch((e) => e)).code);
      const disposed = r.rerank({ query: 'q', documents: Array.from({ length: 8 }, (_, i) => i + ' ' + 'word '.repeat(1900)) }, { onStart: () => setTimeout(() => r.dispose(), 50) });
      console.log((await disposed.catch((e) => e)).code);
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, LLAMA_RERANK_VERBOSE: '' } });
    expect(child.stdout.trim().split('\n')).toEqual(['ABORTED', 'DISPOSED']);
    expect(child.stderr).toBe('');
  });

  it('asyncDispose waits for tokenize() and truncate() in flight, which then reject with DISPOSED, in-process as isolated', async () => {
    for (const isolate of [false, true]) {
      const r = await Reranker.load({ model: tinyModel('rank'), isolate });
      const spaces = ' '.repeat(2 << 20);
      // three calls: more than run at once, so one still waits its turn when dispose comes
      const calls = [r.truncate(spaces, 8000), r.tokenize(spaces), r.truncate(`${spaces}x`, 8000)];
      const settled: string[] = [];
      calls.forEach((c, i) => c.then(() => settled.push(`${i} answered`), (e: RerankError) => settled.push(`${i} ${e.code}`)));
      await r[Symbol.asyncDispose]();
      await Promise.resolve(); // the callbacks of promises that settled before asyncDispose's did
      expect(settled.sort(), `isolate: ${isolate}`).toEqual(['0 DISPOSED', '1 DISPOSED', '2 DISPOSED']);
    }
  });

  it('supports await using (Symbol.asyncDispose)', async () => {
    const r = await Reranker.load({ model: tinyModel('rank') });
    await r[Symbol.asyncDispose]();
    expect(r.disposed).toBe(true);
  });

  it('one signal shared by 20 concurrent requests: no listener warning; its abort rejects those not done, and the model ranks on', async () => {
    const r = await Reranker.load({ model: tinyModel('rank') });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const ctl = new AbortController();
      const settled = Array.from({ length: 20 }, () => r.rerank({ ...exampleRequest(), signal: ctl.signal }).then(() => 'done', (e: Error) => e.name));
      await new Promise((resolve) => setImmediate(resolve)); // process warnings are emitted on a later tick
      ctl.abort();
      const outcomes = await Promise.all(settled);
      expect(outcomes.filter((o) => o === 'AbortError').length).toBeGreaterThan(10); // all but those native code had finished
      expect(outcomes.every((o) => o === 'done' || o === 'AbortError')).toBe(true);
      expect((await r.rerank(exampleRequest())).results).toHaveLength(exampleRequest().documents.length);
      // the same signal, aborted, refuses a new request at once
      await expect(r.rerank({ ...exampleRequest(), signal: ctl.signal })).rejects.toMatchObject({ name: 'AbortError', code: 'ABORTED' });
      // truncate() calls waiting their turn listen to their signal and to dispose(): 20 of them on one signal
      const shared = new AbortController();
      const long = 'word '.repeat(2000);
      const cut = await Promise.all(Array.from({ length: 20 }, () => r.truncate(long, 5, { signal: shared.signal })));
      expect(new Set(cut).size).toBe(1);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
      r.dispose();
    }
    expect(warnings).not.toContain('MaxListenersExceededWarning');
  });

  it('an aborted request rejects with AbortError and leaves the queue', async () => {
    const r = await Reranker.load({ model: tinyModel('rank') });
    try {
      const first = r.rerank(exampleRequest());
      const ctl = new AbortController();
      const second = r.rerank({ ...exampleRequest(), signal: ctl.signal });
      ctl.abort();
      await expect(second).rejects.toMatchObject({ name: 'AbortError', code: 'ABORTED' });
      await first;
      expect(r.stats.requests).toBe(1);
    } finally {
      r.dispose();
    }
  });
});

describe('chunking (max_chunks_per_doc)', () => {
  let short: Reranker;
  beforeAll(async () => {
    short = await Reranker.load({ model: tinyModel('rank'), flashAttention: 'off', maxLength: 128 });
  });
  afterAll(() => short.dispose());

  // ~40 tokens of preamble then the answer-bearing sentence, so only a later window sees it.
  const long = `${'Filler words about nothing in particular. '.repeat(40)}Paris is the capital of France.`;

  it("scores a long document in windows, counts every window's tokens, and scores no lower than its first part", async () => {
    const one = await short.rerank({ query: 'capital of France', documents: [long] });
    const chunked = await short.rerank({ query: 'capital of France', documents: [long], max_chunks_per_doc: 10 });
    expect(one.usage.prompt_tokens).toBe(128);
    expect(chunked.usage.prompt_tokens).toBeGreaterThan(2 * 128);
    // the best window's score: at least the truncated pair's (its first window)
    const tokens = await short.tokenize(long);
    expect(tokens.length).toBeGreaterThan(128);
    expect(chunked.results[0].relevance_score).toBeGreaterThanOrEqual(one.results[0].relevance_score - 1e-6);
  });

  it('leaves short documents as single pairs, with the same scores', async () => {
    const a = await short.rerank({ query: 'q', documents: ['short one', 'short two'] });
    const b = await short.rerank({ query: 'q', documents: ['short one', 'short two'], max_chunks_per_doc: 5 });
    expect(scoresByIndex(b)).toEqual(scoresByIndex(a));
    expect(b.usage).toEqual(a.usage);
  });

  it('caps the windows at max_chunks_per_doc', async () => {
    const two = await short.rerank({ query: 'q', documents: [long], max_chunks_per_doc: 2 });
    expect(two.usage.prompt_tokens).toBeLessThanOrEqual(2 * 128);
    expect(two.usage.prompt_tokens).toBeGreaterThan(128);
  });

  it('refuses max_chunks_per_doc with truncate: false, and values out of range', async () => {
    for (const bad of [{ max_chunks_per_doc: 3, truncate: false }, { max_chunks_per_doc: 0 }, { max_chunks_per_doc: 1.5 }]) {
      await expect(short.rerank({ query: 'q', documents: ['d'], ...bad })).rejects.toMatchObject({ code: 'INVALID_REQUEST', field: 'max_chunks_per_doc' });
    }
  });
});
