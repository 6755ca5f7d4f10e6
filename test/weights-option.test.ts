// The load option `weights`: decoding with a copy of the model in another type, made once into the
// model cache by llama.cpp's quantizer (lib/weight-copy.ts).
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import { modelWithWeights, weightCopyPath } from '../lib/weight-copy.js';
import { packageRoot } from '../models/paths.js';
import { ensureTestModel } from '../test-models/generate.js';
import { withWeightType } from '../test-models/weight-types.js';
import { exampleRequest, scoresByIndex } from './helpers.js';

const options = { flashAttention: 'off', kvType: 'f32', threads: 2 } as const;

async function scoresOf(load: Parameters<typeof Reranker.load>[0]): Promise<{ scores: number[]; description: string }> {
  const model = await Reranker.load(load);
  try {
    return { scores: scoresByIndex(await model.rerank(exampleRequest())), description: model.info.description };
  } finally {
    model.dispose();
  }
}

describe('weights: a copy of the model in another type', () => {
  const f32 = ensureTestModel({ shape: 'tiny-k', kind: 'rank', seed: 1 });
  let dir: string;
  let cache: string;
  const before = process.env.LLAMA_RERANK_CACHE;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'llama-rerank-weights-'));
    cache = join(dir, 'cache');
    process.env.LLAMA_RERANK_CACHE = cache;
  });
  afterAll(() => {
    if (before === undefined) delete process.env.LLAMA_RERANK_CACHE;
    else process.env.LLAMA_RERANK_CACHE = before;
    rmSync(dir, { recursive: true, force: true });
  });
  const converted = () => readdirSync(join(cache, 'converted')).sort();

  it("scores as the quantizer's own file of that type, made once and reused", async () => {
    const copied = await scoresOf({ model: f32, weights: 'bf16', ...options });
    const [made] = converted();
    expect(converted()).toEqual([made]);
    expect(made).toMatch(/^qwen3-reranker-tiny-k-rank-seed1-r2-[0-9a-f]{12}-BF16\.gguf$/);
    expect(copied.description).toMatch(/BF16/);
    const reference = await scoresOf({ model: await withWeightType(f32, 'BF16'), ...options });
    expect(copied.scores).toEqual(reference.scores);

    const written = statSync(join(cache, 'converted', made)).mtimeMs;
    const again = await scoresOf({ model: f32, weights: 'bf16', ...options });
    expect(again.scores).toEqual(copied.scores);
    expect(converted()).toEqual([made]);
    expect(statSync(join(cache, 'converted', made)).mtimeMs).toBe(written); // not made again
  });

  it('concurrent loads share one conversion; a changed source file gets a copy of its own', async () => {
    const source = join(dir, 'model.gguf');
    copyFileSync(f32, source);
    const models = await Promise.all([1, 2, 3].map(() => Reranker.load({ model: source, weights: 'f16', ...options })));
    models.forEach((m) => m.dispose());
    const ours = () => converted().filter((f) => f.startsWith('model-'));
    expect(ours()).toHaveLength(1);
    expect(ours()[0]).toMatch(/-F16\.gguf$/);
    expect(readdirSync(join(cache, 'converted')).some((f) => f.endsWith('.tmp'))).toBe(false);
    utimesSync(source, new Date(), new Date(Date.now() + 60_000)); // as an edit would
    (await Reranker.load({ model: source, weights: 'f16', ...options })).dispose();
    expect(ours()).toHaveLength(2);
  });

  it('a file whose header says its weights are already of that type is loaded as it is', async () => {
    const bf16 = await withWeightType(f32, 'BF16');
    const before = readdirSync(join(cache, 'converted'));
    expect(await modelWithWeights(bf16, 'bf16', cache)).toBe(bf16);
    const loaded = await scoresOf({ model: bf16, weights: 'bf16', ...options });
    expect(loaded.scores).toEqual((await scoresOf({ model: bf16, ...options })).scores);
    expect(readdirSync(join(cache, 'converted'))).toEqual(before); // no copy made
    expect(await modelWithWeights(bf16, 'f16', cache)).not.toBe(bf16); // another type is converted
  });

  it('two threads converting the same file at once both get a whole copy', async () => {
    // Worker threads share the pid and not the module's list of conversions in progress.
    const source = join(dir, 'threads.gguf');
    copyFileSync(f32, source);
    const module = join(packageRoot, 'dist', 'lib', 'weight-copy.js');
    const code = `import('${module}').then((m) => m.modelWithWeights(${JSON.stringify(source)}, 'bf16', ${JSON.stringify(cache)}))
      .then((path) => require('node:worker_threads').parentPort.postMessage({ path }), (e) => require('node:worker_threads').parentPort.postMessage({ error: String(e) }))`;
    const results = await Promise.all([1, 2].map(() => new Promise<{ path?: string; error?: string }>((done, fail) => {
      const w = new Worker(code, { eval: true });
      w.once('message', (m) => { done(m); void w.terminate(); });
      w.once('error', fail);
    })));
    expect(results).toEqual([{ path: weightCopyPath(source, 'bf16', cache) }, { path: weightCopyPath(source, 'bf16', cache) }]);
    const copy = await scoresOf({ model: source, weights: 'bf16', ...options });
    expect(copy.scores).toEqual((await scoresOf({ model: await withWeightType(f32, 'BF16'), ...options })).scores);
  });

  it("removes a conversion's temporary file a killed process left, not one being written", async () => {
    const source = join(dir, 'abandoned.gguf');
    copyFileSync(f32, source);
    const dest = weightCopyPath(source, 'f16', cache);
    mkdirSync(join(cache, 'converted'), { recursive: true });
    const old = `${dest}.4242-abcdef.tmp`;
    const fresh = `${dest}.4343-abcdef.tmp`;
    writeFileSync(old, 'half a model');
    writeFileSync(fresh, 'half a model');
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(old, hourAgo, hourAgo);
    expect(await modelWithWeights(source, 'f16', cache)).toBe(dest);
    const left = readdirSync(join(cache, 'converted'));
    expect(left).not.toContain(old.split('/').pop());
    expect(left).toContain(fresh.split('/').pop());
    rmSync(fresh);
  });

  it('refuses an unknown type, and a cache it cannot write, with typed errors; the model still loads as stored', async () => {
    await expect(Reranker.load({ model: f32, weights: 'q4' as never })).rejects.toMatchObject({ code: 'INVALID_OPTIONS', field: 'weights' });
    process.env.LLAMA_RERANK_CACHE = join(f32, 'not-a-folder'); // under a file: no folder can be made there, even as root
    try {
      const failed = Reranker.load({ model: f32, weights: 'f16', ...options });
      await expect(failed).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED', field: 'weights' });
      await expect(failed).rejects.toThrow(/could not make a F16 copy of .*not-a-folder/);
      const stored = await scoresOf({ model: f32, ...options });
      expect(stored.scores).toHaveLength(exampleRequest().documents.length);
    } finally {
      process.env.LLAMA_RERANK_CACHE = cache;
    }
    // a file gone since the options were checked
    await expect(modelWithWeights(join(dir, 'gone.gguf'), 'bf16', cache)).rejects.toMatchObject({ code: 'MODEL_LOAD_FAILED', field: 'weights' });
  });
});
