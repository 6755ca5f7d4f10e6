// Queueing: large requests are sliced, small ones are not starved, concurrency changes no score.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import { nativeModule } from '../lib/native.js';
import { Scheduler, slicePairs } from '../lib/scheduler.js';
import type { NativeCallResult, NativeGroup, NativeReranker } from '../lib/native.js';

const SLICE_PAIRS = slicePairs(512); // the CPU's default batch
import { scoresByIndex, tinyModel } from './helpers.js';

const docs = (n: number, tag = '') => Array.from({ length: n }, (_, i) => `document ${i}${tag}: ${'lorem ipsum '.repeat(i % 7)}`);

describe('scheduler', () => {
  let reranker: Reranker;
  beforeAll(async () => {
    reranker = await Reranker.load({ model: tinyModel('rank'), flashAttention: 'off' });
  });
  afterAll(() => reranker.dispose());

  it('a request of several slices gives the scores its pairs get alone', async () => {
    const documents = docs(SLICE_PAIRS * 2 + 5);
    const whole = scoresByIndex(await reranker.rerank({ query: 'q', documents }));
    expect(whole).toHaveLength(documents.length);
    for (const i of [0, SLICE_PAIRS - 1, SLICE_PAIRS, documents.length - 1]) {
      const alone = (await reranker.rerank({ query: 'q', documents: [documents[i]] })).results[0].relevance_score;
      expect(Math.abs(alone - whole[i])).toBeLessThan(1e-4);
    }
  });

  it('a small request is not starved behind a large one', async () => {
    const order: string[] = [];
    const large = reranker.rerank({ query: 'q', documents: docs(SLICE_PAIRS * 6) }).then(() => order.push('large'));
    const small = reranker.rerank({ query: 'q', documents: docs(2) }).then(() => order.push('small'));
    await Promise.all([large, small]);
    expect(order).toEqual(['small', 'large']);
  });

  it('names the right document when a later slice fails', async () => {
    const short = await Reranker.load({ model: tinyModel('rank'), maxLength: 128 });
    try {
      const documents = docs(SLICE_PAIRS + 10);
      documents[SLICE_PAIRS + 3] = 'long '.repeat(400);
      const err = await short.rerank({ query: 'q', documents, truncate: false }).catch((e) => e);
      expect(err.code).toBe('DOCUMENT_TOO_LONG');
      expect(err.field).toBe(`documents[${SLICE_PAIRS + 3}]`);
      expect(err.message).toMatch(new RegExp(`^document ${SLICE_PAIRS + 3} `));
    } finally {
      short.dispose();
    }
  });

  it('1,000 concurrent calls all resolve, with the scores they get one by one', async () => {
    const requests = Array.from({ length: 1000 }, (_, i) => ({ query: `query ${i % 10}`, documents: docs(1 + (i % 3), `-${i % 10}`) }));
    const alone = new Map<string, number[]>();
    for (const r of requests.slice(0, 30)) alone.set(JSON.stringify(r), scoresByIndex(await reranker.rerank(r)));
    const all = await Promise.all(requests.map((r) => reranker.rerank(r)));
    all.forEach((res, i) => {
      const want = alone.get(JSON.stringify(requests[i]));
      expect(want).toBeDefined();
      expect(scoresByIndex(res)).toEqual(want);
    });
  });

  it('finishes a slice over its token budget in later calls, with the scores its pairs get alone', async () => {
    // 32-token batches: a slice may hold 32 x 32 = 1,024 tokens, about 3 of these documents
    const small = await Reranker.load({ model: tinyModel('rank'), flashAttention: 'off', batchSize: 32 });
    try {
      const documents = Array.from({ length: 10 }, (_, i) => `${i} ${'lorem ipsum dolor '.repeat(80)}`);
      const budgeted = scoresByIndex(await small.rerank({ query: 'q', documents }));
      const whole = scoresByIndex(await reranker.rerank({ query: 'q', documents }));
      expect(budgeted).toHaveLength(documents.length);
      budgeted.forEach((s, i) => expect(Math.abs(s - whole[i])).toBeLessThan(1e-4));
    } finally {
      small.dispose();
    }
  });

  it('native code scores documents from the first while they fit the token budget, at least one', async () => {
    const native = await nativeModule().loadModel({
      path: tinyModel('rank'), gpu: 'cpu', threads: 2, maxLength: 8192, batchSize: 512, ubatchSize: 512,
      maxSequences: 64, flashAttention: 'off', kvType: 'f16', pack: false,
    });
    try {
      const group = (documents: string[], tokenBudget: number) => ({
        id: 1, instruction: 'i', query: 'q', documents, maxLength: 8192, truncate: true, sharePrefix: true,
        maxChunks: 1, chunkOverlap: 80, tokenBudget,
      });
      const documents = Array.from({ length: 6 }, (_, i) => `${i} ${'lorem ipsum '.repeat(100)}`);
      const [all] = (await native.score([group(documents, 0)])).groups;
      expect(all.completed).toBe(6);
      const perPair = all.pairTokens[0];
      const [some] = (await native.score([group(documents, perPair * 2.5)])).groups;
      expect(some.completed).toBe(2);
      expect(Array.from(some.scores)).toEqual(Array.from(all.scores).slice(0, 2));
      const [one] = (await native.score([group(documents, 1)])).groups;
      expect(one.completed).toBe(1);
    } finally {
      native.dispose();
    }
  });

  it('an aborted request stops in native code at its next decode call', async () => {
    const r = await Reranker.load({ model: tinyModel('rank') });
    try {
      await r.rerank({ query: 'q', documents: ['warm-up'] });
      const small = { query: 'q', documents: ['a', 'b'] };
      const before = r.stats.decodeCalls;
      await r.rerank(small);
      const smallCalls = r.stats.decodeCalls - before;
      // 8 documents of ~2,000 tokens: about 32 decode calls of 512 tokens if nothing stopped them
      const ctl = new AbortController();
      const big = r.rerank({ query: 'q', documents: Array.from({ length: 8 }, (_, i) => `${i} ${'word '.repeat(1900)}`), signal: ctl.signal });
      ctl.abort(); // native code already has the request: it is cancelled there
      await expect(big).rejects.toMatchObject({ code: 'ABORTED' });
      const start = r.stats.decodeCalls;
      await r.rerank(small); // runs after the cancelled call has returned
      expect(r.stats.decodeCalls - start).toBeLessThanOrEqual(smallCalls + 1);
      expect(r.stats.requests).toBe(3);
    } finally {
      r.dispose();
    }
  });

  it('reports when native code starts on a request, once, after the requests ahead of it started', async () => {
    const events: string[] = [];
    const large = reranker.rerank({ query: 'q', documents: docs(SLICE_PAIRS * 3) }, { onStart: () => events.push('large started') });
    const small = reranker.rerank({ query: 'q', documents: docs(2) }, { onStart: () => events.push('small started') });
    await Promise.all([large.then(() => events.push('large done')), small.then(() => events.push('small done'))]);
    expect(events.filter((e) => e === 'large started')).toHaveLength(1);
    expect(events.indexOf('large started')).toBe(0);
    expect(events.indexOf('small started')).toBeLessThan(events.indexOf('small done'));
  });

  it('a small request does not wait while another request\'s huge document is tokenized', async () => {
    // 8 MiB of spaces: llama.cpp tokenizes such a run slowly (a token holds up to 128 spaces), and
    // even bounded to the 8,192 tokens kept, 1 MiB of it is read
    const order: string[] = [];
    const huge = reranker.rerank({ query: 'q', documents: [' '.repeat(8 << 20)] }).then(() => order.push('huge'));
    const small = reranker.rerank({ query: 'q', documents: docs(2) }).then(() => order.push('small'));
    await Promise.all([huge, small]);
    expect(order).toEqual(['small', 'huge']);
  });
});

// A stand-in for native code whose calls land when the test says, to pin down the bookkeeping.
describe('scheduler bookkeeping', () => {
  function manualNative() {
    const calls: { groups: NativeGroup[]; land: () => void }[] = [];
    const cancelled: number[] = [];
    const native = {
      score: (groups: NativeGroup[]) =>
        new Promise<NativeCallResult>((resolve) => {
          const land = () => resolve({
            decodeCalls: 1, decodeMs: 0,
            groups: groups.map((g) => ({
              completed: g.documents.length, scores: new Float64Array(g.documents.length), pairTokens: g.documents.map(() => 1),
              truncated: [], chunks: [], computedTokens: 1,
            })),
          } as unknown as NativeCallResult);
          calls.push({ groups, land });
        }),
      cancel: (id: number) => cancelled.push(id),
    } as unknown as NativeReranker;
    return { native, calls, cancelled };
  }
  const group = (n: number) => ({
    instruction: '', query: 'q', documents: Array.from({ length: n }, (_, i) => `d${i}`),
    maxLength: 8192, truncate: true, sharePrefix: true, maxChunks: 1, chunkOverlap: 80,
  });
  const turn = () => new Promise((r) => setTimeout(r, 5));

  // A request re-queued by call C is taken by call D before C's last callbacks run (a request
  // resolved in C submits another): D owns it from then on.
  async function requeuedIntoNextCall(signal?: AbortSignal) {
    const m = manualNative();
    const s = new Scheduler(m.native, 512);
    const a = s.submit(group(1));
    const b = s.submit(group(1)); // calls A and B: both slots busy
    const big = s.submit(group(SLICE_PAIRS * 3), signal); // id 3, queued
    const small = s.submit(group(1)).then(() => void s.submit(group(1)).catch(() => {})); // id 4, then id 5
    m.calls[0].land(); await a; await turn(); // call C takes 3 and 4
    m.calls[1].land(); await b; await turn();
    expect(m.calls[2].groups.map((g) => g.id)).toEqual([3, 4]);
    m.calls[2].land(); await small; await turn(); // 3 goes back in the queue; 5's submit starts call D
    expect(m.calls[3].groups.map((g) => g.id)).toEqual([3, 5]);
    return { ...m, s, big };
  }

  it('an abort reaches native code for a request a later call took over', async () => {
    const ac = new AbortController();
    const { cancelled, big } = await requeuedIntoNextCall(ac.signal);
    ac.abort();
    await expect(big).rejects.toMatchObject({ code: 'ABORTED' });
    expect(cancelled).toContain(3);
  });

  it('close() rejects a request a later call took over, and it stays rejected when that call lands', async () => {
    const { s, big, calls } = await requeuedIntoNextCall();
    const settled = big.then(() => 'resolved', (e) => e.code);
    s.close();
    calls[3].land();
    expect(await settled).toBe('DISPOSED');
    await s.idle();
  });

  it('a native call that throws at once fails its requests, and the next call runs', async () => {
    let throwNext = true;
    const m = manualNative();
    const score = m.native.score.bind(m.native);
    m.native.score = (groups) => {
      if (throwNext) { throwNext = false; throw new Error('conversion failed'); }
      return score(groups);
    };
    const s = new Scheduler(m.native, 512);
    await expect(s.submit(group(1))).rejects.toMatchObject({ code: 'DECODE_FAILED', message: 'conversion failed' });
    const next = s.submit(group(2));
    await turn();
    m.calls[0].land();
    await expect(next).resolves.toMatchObject({ computedTokens: 1 });
  });
});
