// The GPU bench's token dump feeds the PyTorch baseline: it must hold exactly the tokens
// llama-rerank decodes for each pair, or the baseline would time other work.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import { TokenFile, writeTokens } from '../bench/tokens.js';
import { Workload, buildWorkloads } from '../bench/workloads.js';
import { tinyModel } from './helpers.js';

describe('bench token dump', () => {
  let reranker: Reranker;
  let workloads: Workload[];
  let dump: TokenFile;
  const dir = mkdtempSync(join(tmpdir(), 'bench-tokens-'));

  beforeAll(async () => {
    reranker = await Reranker.load({ model: tinyModel('rank') });
    workloads = await buildWorkloads('gpu', ['D', 'S32', 'S1'], true, async (t) => (await reranker.tokenize(t)).length);
    await writeTokens(join(dir, 'tokens.json'), tinyModel('rank'), reranker, workloads);
    dump = JSON.parse(readFileSync(join(dir, 'tokens.json'), 'utf8')) as TokenFile;
  });
  afterAll(() => {
    reranker.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('holds as many tokens per request as llama-rerank counts for it', async () => {
    for (const [i, w] of workloads.entries()) {
      for (const [j, request] of w.requests.entries()) {
        const pairs = dump.workloads[i].requests[j];
        const { usage } = await reranker.rerank(request);
        expect(pairs.length).toBe(request.documents.length);
        expect(pairs.reduce((n, p) => n + p.length, 0)).toBe(usage.prompt_tokens);
      }
    }
  });

  it('starts and ends every pair with the prompt\'s special tokens and knows the model\'s shape', () => {
    const pair = dump.workloads[0].requests[0][0];
    const imStart = 151644;
    expect(pair[0]).toBe(imStart);
    expect(pair.filter((t) => t === imStart)).toHaveLength(3);
    expect(dump.model.shape).toMatchObject({ layers: 2, hidden: 64, heads: 4, kvHeads: 2, headDim: 16, ff: 128, vocab: 151936 });
    expect([dump.model.yesId, dump.model.noId]).toEqual([9693, 2152]);
  });

  it('sends S32\'s documents as one request in S1', () => {
    const [, s32, s1] = workloads;
    expect(s1.requests).toHaveLength(1);
    expect(s1.requests[0].documents).toEqual(s32.requests.flatMap((r) => r.documents));
  });
});
