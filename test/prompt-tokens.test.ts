// How a pair's tokens are made: only as much of a long text is tokenized as the kept tokens need,
// and they are exactly the whole text's; truncate() gives back the text of a text's first tokens;
// chunk windows are cut from the official pair; a query that leaves no room for a document is refused.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import { nativeModule } from '../lib/native.js';
import { packageRoot } from '../models/paths.js';
import { GgufFile } from '../test-models/gguf/reader.js';
import { scoresByIndex, tinyModel } from './helpers.js';
import { random, randomText } from './random-text.js';
import { qwen2Reference } from './reference/qwen2-tokenizer.js';

describe('bounded tokenization', () => {
  let r: Reranker;
  beforeAll(async () => {
    r = await Reranker.load({ model: tinyModel('rank'), maxLength: 1024 });
  });
  afterAll(() => r.dispose());

  it('the first n tokens of a text, from a prefix of it, are the whole text\'s first n (150 random texts)', async () => {
    const next = random(13);
    for (let t = 0; t < 150; t++) {
      const text = randomText(next, 20 + Math.floor(next() * 600));
      const parseSpecial = t % 8 === 0;
      const whole = await r.tokenize(text, { parseSpecial });
      const counts = [1, 2, Math.floor(next() * whole.length), whole.length - 1, whole.length, whole.length + 3];
      for (const n of counts.filter((c) => c >= 0)) {
        const front = await r.tokenize(text, { parseSpecial, maxTokens: n });
        if (front.join() !== whole.slice(0, n).join()) {
          expect.fail(`text ${t} (${JSON.stringify(text.slice(0, 200))}…), ${n} tokens: ${front.length} differ from the whole's`);
        }
      }
    }
  });

  it('cuts inside long whitespace runs, giant words and emoji sequences the same way', async () => {
    const texts = [
      ' '.repeat(200_000),
      `a${' '.repeat(100_000)}b`,
      `word ${'\n'.repeat(50_000)}x`,
      `${' \t'.repeat(30_000)}\n${'  '.repeat(10_000)}end`,
      'abc'.repeat(60_000),
      '👨‍👩‍👧‍👦'.repeat(20_000),
      '漢字'.repeat(40_000),
      '1234567890'.repeat(20_000),
    ];
    for (const text of texts) {
      const whole = await r.tokenize(text);
      for (const n of [1, 100, 1000, 5000]) {
        expect((await r.tokenize(text, { maxTokens: n })).join(), `${JSON.stringify(text.slice(0, 12))}… ${n}`).toBe(
          whole.slice(0, n).join(),
        );
      }
    }
  });

  it("a pair tokenizes a bounded part of a huge document: as many bytes for 4 MiB as for 8 MiB", async () => {
    const native = nativeModule();
    const bytesFor = async (document: string) => {
      const before = native.tokenizedBytes();
      const res = await r.rerank({ query: 'what is here?', documents: [document] });
      expect(res.usage.prompt_tokens).toBe(r.info.maxLength);
      return native.tokenizedBytes() - before;
    };
    const spaces = ' '.repeat(4 << 20);
    const bytes = await bytesFor(spaces);
    // 1,024 tokens of spaces are 128 KiB (a token holds up to 128 spaces): the work follows what is kept
    expect(bytes).toBeLessThan(spaces.length / 8);
    expect(await bytesFor(spaces + spaces)).toBe(bytes);
    const words = 'lorem ipsum dolor sit amet '.repeat(150_000);
    expect(await bytesFor(words)).toBeLessThan(words.length / 100);
  });

  it.skipIf(process.platform !== 'linux')('a 100 MB document under a 3 GB memory limit is scored, and so is the request beside it', () => {
    // Whole, it took 4 bytes of tokens per byte (and more inside llama.cpp): std::bad_alloc, which
    // failed every request of the native call.
    const fixture = join(packageRoot, 'dist', 'test', 'fixtures', 'huge-document-run.js');
    const child = spawnSync('sh', ['-c', 'ulimit -v 3000000 && exec "$0" "$@"', process.execPath, fixture, tinyModel('rank'), '2e7'], {
      encoding: 'utf8',
    });
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout.trim().split('\n').pop()!)).toEqual(['scored', 'scored']);
  });
});

describe("truncate(): the text of a text's first n tokens", () => {
  let r: Reranker;
  beforeAll(async () => {
    r = await Reranker.load({ model: tinyModel('rank') });
  });
  afterAll(() => r.dispose());
  // Hugging Face's tokenizer decodes the tokens: an independent account of the text they spell
  const reference = qwen2Reference(GgufFile.open(tinyModel('rank')).metadata, { controlTokens: 'text' });

  it("is the official decoding of the whole text's first n tokens, less a character they cut in two (60 random texts)", async () => {
    const next = random(29);
    let cutInTwo = 0;
    for (let t = 0; t < 60; t++) {
      const text = randomText(next, 10 + Math.floor(next() * 300));
      const whole = await r.tokenize(text);
      for (const n of [0, 1, 2, Math.floor(next() * whole.length), whole.length - 1, whole.length, whole.length + 1]) {
        const cut = await r.truncate(text, n);
        const where = `text ${t} (${JSON.stringify(text.slice(0, 80))}…), ${n} tokens`;
        if (n >= whole.length) {
          expect(cut, where).toBe(text);
          continue;
        }
        const decoded = await reference.decode(whole.slice(0, n));
        // from_utf8_lossy ends a character the tokens hold only part of with one U+FFFD (no text here has one)
        const expected = decoded.replace(/\uFFFD$/, '');
        if (expected !== decoded) cutInTwo++;
        expect((await r.tokenize(cut)).length, where).toBeLessThanOrEqual(n);
        // A word cut short may take more tokens alone than inside the whole: then fewer tokens are kept.
        if ((await r.tokenize(expected)).length <= n) expect(cut, where).toBe(expected);
        else expect(expected.startsWith(cut) && cut.length < expected.length, where).toBe(true);
      }
    }
    expect(cutInTwo).toBeGreaterThan(0); // the texts did cut characters in two
  });

  it('cuts a short text that normalizing lengthens: NFC makes U+0F76 (3 bytes) 6 bytes and 6 tokens', async () => {
    const text = '\u0F76'.repeat(10); // 30 bytes, 60 tokens
    expect(await r.tokenize(text)).toHaveLength(60);
    for (const n of [29, 30, 59]) expect((await r.tokenize(await r.truncate(text, n))).length).toBeLessThanOrEqual(n);
    expect(await r.truncate(text, 60)).toBe(text);
  });

  it('tokenizes a bounded part of a huge text: as many bytes for 4 MiB of spaces as for 8 MiB', async () => {
    const native = nativeModule();
    const truncateCounting = async (text: string) => {
      const before = native.tokenizedBytes();
      const cut = await r.truncate(text, 1000);
      expect(cut).toMatch(/^ +$/);
      expect(await r.tokenize(cut)).toHaveLength(1000);
      return native.tokenizedBytes() - before;
    };
    const spaces = ' '.repeat(4 << 20);
    const bytes = await truncateCounting(spaces);
    expect(bytes).toBeLessThan(spaces.length / 4);
    expect(await truncateCounting(spaces + spaces)).toBe(bytes);
  });
});

describe('chunk windows are cut from the official pair', () => {
  let short: Reranker;
  beforeAll(async () => {
    short = await Reranker.load({ model: tinyModel('rank'), flashAttention: 'off', maxLength: 128 });
  });
  afterAll(() => short.dispose());

  it('window 0 is the truncated pair: no document scores below its truncated pair (40 random documents)', async () => {
    const next = random(7);
    const documents = Array.from({ length: 40 }, () => randomText(next, 150));
    const query = 'which text mentions the capital?';
    const truncated = scoresByIndex(await short.rerank({ query, documents }));
    const chunked = scoresByIndex(await short.rerank({ query, documents, max_chunks_per_doc: 2 }));
    // the exact path: a pair's score does not depend on the pairs decoded with it (about 4e-7)
    const below = chunked.map((s, i) => truncated[i] - s).filter((d) => d > 1e-5);
    expect(below).toEqual([]);
  });
});

describe('a query that leaves no room for a document', () => {
  let short: Reranker;
  beforeAll(async () => {
    short = await Reranker.load({ model: tinyModel('rank'), maxLength: 128 });
  });
  afterAll(() => short.dispose());

  const longQuery = 'what is the capital of France, '.repeat(40);

  it('is refused with QUERY_TOO_LONG naming query, whatever truncate says', async () => {
    for (const truncate of [true, false]) {
      const err = await short.rerank({ query: longQuery, documents: ['a', 'b'], truncate }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'QUERY_TOO_LONG', field: 'query' });
      expect((err as Error).message).toMatch(/query.*no room for a document/);
    }
    await expect(short.rerank({ query: longQuery, documents: ['a'], max_chunks_per_doc: 3 })).rejects.toMatchObject({
      code: 'QUERY_TOO_LONG',
    });
  });

  it('fails only its own request: another in the same native call is scored', async () => {
    const alone = await short.rerank({ query: 'capital', documents: ['Paris', 'Berlin'] });
    const busy = short.rerank({ query: 'busy', documents: Array.from({ length: 40 }, (_, i) => `document ${i}`) });
    const [bad, good] = await Promise.allSettled([
      short.rerank({ query: longQuery, documents: ['a', 'b'] }),
      short.rerank({ query: 'capital', documents: ['Paris', 'Berlin'] }),
    ]);
    await busy;
    expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'QUERY_TOO_LONG' } });
    expect(good).toMatchObject({ status: 'fulfilled', value: alone });
  });
});
