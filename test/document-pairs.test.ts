// A call's documents are tokenized on several threads (native/document_pairs.h): the pairs, and so
// the scores, are those of tokenizing one document after another, and a request's documents stop
// being tokenized once that loop would have stopped (its token budget, its first failure), but for
// those other threads took before they could know. Which documents a thread may skip is checked
// without threads in test/native/selftest.cpp (DocumentProgress).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeModule, type NativeGroup, type NativeReranker } from '../lib/native.js';
import { tinyModel } from './helpers.js';
import { random, randomText } from './random-text.js';

const load = (threads: number) =>
  nativeModule().loadModel({
    path: tinyModel('rank'), gpu: 'cpu', threads, maxLength: 8192, batchSize: 512, ubatchSize: 512,
    maxSequences: 64, flashAttention: 'off', kvType: 'f32', pack: false,
  });

const group = (id: number, documents: string[], more: Partial<NativeGroup> = {}): NativeGroup => ({
  id, instruction: 'Given a web search query, retrieve relevant passages that answer the query', query: `query ${id}: où est-ce ?`,
  documents, maxLength: 8192, truncate: true, sharePrefix: true, maxChunks: 1, chunkOverlap: 80, tokenBudget: 0, ...more,
});

/** Bytes handed to the tokenizer while `run` runs (every Prompt of the process counts: one test at a time). */
async function tokenizedBytes(run: () => Promise<unknown>): Promise<number> {
  const before = nativeModule().tokenizedBytes();
  await run();
  return nativeModule().tokenizedBytes() - before;
}

describe('tokenizing a call on several threads', () => {
  let one: NativeReranker; // tokenizes on this thread alone
  let two: NativeReranker; // on two threads, when a call has 4 KiB of text or more (a thread per 2 KiB)
  beforeAll(async () => {
    [one, two] = await Promise.all([load(1), load(2)]);
  });
  afterAll(() => {
    one.dispose();
    two.dispose();
  });

  it('gives the pairs, windows, budgets and scores of tokenizing one document after another', async () => {
    const next = random(9);
    // 54 KiB over three requests of documents of every length, so that both threads take many
    const docs = (n: number, pieces: number) => Array.from({ length: n }, () => randomText(next, pieces + Math.floor(next() * 55)));
    const requests: [string[], Partial<NativeGroup>][] = [
      [docs(24, 5), {}],
      [docs(16, 20), { maxLength: 256, maxChunks: 3, chunkOverlap: 16 }], // windows, cut documents
      [docs(24, 5), { tokenBudget: 1500 }], // stops part way
    ];
    const groups = () => requests.map(([documents, more], i) => group(i + 1, documents, more));
    const b = await two.score(groups());
    expect(b.groups.map((g) => g.error ?? '')).toEqual(['', '', '']);

    // each document alone, in a call of its own (one document: one thread)
    for (const [i, [documents, { tokenBudget, ...more }]] of requests.entries()) {
      const alone = [];
      for (const d of documents) alone.push((await one.score([group(i + 1, [d], more)])).groups[0]);
      let completed = 0;
      for (let sum = 0; completed < alone.length; ++completed) {
        sum += alone[completed].pairTokens[0];
        if (tokenBudget && completed > 0 && sum > tokenBudget) break;
      }
      const got = b.groups[i];
      expect(got.completed).toBe(completed);
      expect(got.pairTokens).toEqual(alone.slice(0, completed).map((g) => g.pairTokens[0]));
      expect(got.chunks).toEqual(alone.slice(0, completed).map((g) => g.chunks[0]));
      expect(got.truncated).toEqual(alone.slice(0, completed).map((g) => g.truncated[0]));
    }
    expect(b.groups[1].chunks.some((c) => c > 1)).toBe(true);
    expect(b.groups[2].completed).toBeLessThan(requests[2][0].length);

    // the CPU's matrix products do not depend on the thread count: the call on one thread scores to the bit
    const a = await one.score(groups());
    b.groups.forEach((g, i) => expect(Array.from(g.scores)).toEqual(Array.from(a.groups[i].scores)));
  });

  it("stops tokenizing a request's documents once they spend its token budget", async () => {
    const documents = Array.from({ length: 32 }, (_, i) => `${i} ${'lorem ipsum dolor '.repeat(600)}`); // ~1,800 tokens each
    const single = await tokenizedBytes(() => two.score([group(1, documents.slice(0, 1))]));
    let completed = 0;
    const bytes = await tokenizedBytes(async () => {
      completed = (await two.score([group(1, documents, { tokenBudget: 4 * 2000 })])).groups[0].completed;
    });
    expect(completed).toBe(4);
    // one by one: the 4 that fit and the one that did not; the other thread goes on until the
    // documents it sees finished spend the budget (32 documents if nothing stopped it)
    expect(bytes).toBeLessThan(10 * single);
  });

  it("stops tokenizing a request's documents at its first failure", async () => {
    const long = (i: number) => `${i} ${'lorem ipsum dolor '.repeat(300)}`; // ~900 tokens
    const documents = ['short', long(1), ...Array.from({ length: 60 }, (_, i) => long(i + 2).slice(0, 1500))];
    let result: Awaited<ReturnType<NativeReranker['score']>>['groups'][number] | undefined;
    const bytes = await tokenizedBytes(async () => {
      result = (await two.score([group(1, documents, { maxLength: 512, truncate: false })])).groups[0];
    });
    expect(result).toMatchObject({ errorCode: 'DOCUMENT_TOO_LONG', errorIndex: 1 });
    // Tokenizing them all (truncated, none fails) costs what not stopping would. While document 1
    // tokenizes, the other thread goes on with those after it (a few, on a loaded machine more).
    const all = await tokenizedBytes(() => two.score([group(1, documents, { maxLength: 512 })]));
    expect(bytes).toBeLessThan(all / 2);
  });
});
