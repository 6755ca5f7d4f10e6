// The KV cache's size is known before llama.cpp allocates it (ModelInfo.kvCacheBytes), and a load
// whose cache and weights do not fit the memory available is refused with a typed error: llama.cpp
// writes the whole cache when it creates it, so such a load would otherwise end in the OOM killer.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { RerankError, Reranker } from '../lib/index.js';
import { NativeLoadOptions, nativeModule } from '../lib/native.js';
import { packageRoot } from '../models/paths.js';
import { exampleRequest, tinyModel } from './helpers.js';

const MiB = 2 ** 20;

describe('KV cache size', () => {
  it("is llama.cpp's own figure: unified, with streams, F32, both kinds", () => {
    const configs = [
      { model: tinyModel('rank'), gpu: 'cpu' },
      { model: tinyModel('rank'), gpu: 'cpu', kvStreams: 4 },
      { model: tinyModel('rank'), gpu: 'cpu', kvStreams: 3, kvType: 'f32', batchSize: 64, maxLength: 1000 },
      { model: tinyModel('causal'), gpu: 'cpu', kvStreams: 5, maxLength: 300 },
    ];
    const index = join(packageRoot, 'dist', 'lib', 'index.js');
    const script = `import { Reranker } from ${JSON.stringify(index)};
      for (const c of ${JSON.stringify(configs)}) {
        const r = await Reranker.load(c);
        process.stdout.write(r.info.kvCacheBytes + '\\n');
        r.dispose();
      }`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8', env: { ...process.env, LLAMA_RERANK_VERBOSE: '1' },
    });
    expect(child.status).toBe(0);
    const ours = child.stdout.trim().split('\n').map(Number);
    // llama_kv_cache's report as it allocates: "llama_kv_cache: size =    8.25 MiB (  8448 cells, ..."
    const llamas = [...child.stderr.matchAll(/llama_kv_cache: size = +([\d.]+) MiB/g)].map((m) => Number(m[1]));
    expect(ours).toHaveLength(configs.length);
    expect(llamas).toHaveLength(configs.length);
    for (let i = 0; i < configs.length; i++) expect(ours[i] / MiB).toBeCloseTo(llamas[i], 2);
  });

  it("counts a cache per context, each llama.cpp's own figure", () => {
    const index = join(packageRoot, 'dist', 'lib', 'index.js');
    const script = `import { Reranker } from ${JSON.stringify(index)};
      const r = await Reranker.load({ model: ${JSON.stringify(tinyModel('rank'))}, gpu: 'cpu', contexts: 3, kvStreams: 2 });
      process.stdout.write(r.info.kvCacheBytes + '\\n');
      r.dispose();`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8', env: { ...process.env, LLAMA_RERANK_VERBOSE: '1' },
    });
    expect(child.status).toBe(0);
    const llamas = [...child.stderr.matchAll(/llama_kv_cache: size = +([\d.]+) MiB/g)].map((m) => Number(m[1]));
    expect(llamas).toHaveLength(3);
    for (const size of llamas) expect(Number(child.stdout.trim()) / 3 / MiB).toBeCloseTo(size, 2);
  });
});

describe('host memory', () => {
  const options: NativeLoadOptions = {
    path: tinyModel('rank'), gpu: 'cpu', maxLength: 2000, batchSize: 64, ubatchSize: 64, maxSequences: 8,
    flashAttention: 'auto', kvType: 'f16', pack: false, kvStreams: 4,
  };

  it('a cache and weights of one byte more than the memory available are refused, naming what to lower; as much loads', async () => {
    const probe = await nativeModule().loadModel(options);
    const info = probe.info();
    probe.dispose();
    // on the CPU every layer's cells and weights are in host memory
    const need = info.kvCacheBytes + Math.floor(info.sizeBytes / info.layers) * info.layers;
    await expect(nativeModule().loadModel({ ...options, hostMemoryBytes: need - 1 })).rejects.toThrow(
      /^the KV cache needs \d+ MiB of memory \(4 streams of \d+ cells.*available: lower maxLength, batchSize, kvStreams or load onto a GPU$/,
    );
    const fits = await nativeModule().loadModel({ ...options, hostMemoryBytes: need });
    expect(fits.info().kvCacheBytes).toBe(info.kvCacheBytes);
    fits.dispose();
  });

  it('several contexts need their caches each: refused naming them, as much loads', async () => {
    const probe = await nativeModule().loadModel({ ...options, contexts: 3 });
    const info = probe.info();
    probe.dispose();
    const need = info.kvCacheBytes + Math.floor(info.sizeBytes / info.layers) * info.layers;
    await expect(nativeModule().loadModel({ ...options, contexts: 3, hostMemoryBytes: need - 1 })).rejects.toThrow(
      /^the KV cache needs \d+ MiB of memory \(3 contexts of 4 streams of \d+ cells.*available: lower maxLength, batchSize, kvStreams, contexts or load onto a GPU$/,
    );
    const fits = await nativeModule().loadModel({ ...options, contexts: 3, hostMemoryBytes: need });
    expect(fits.info().contexts).toBe(3);
    fits.dispose();
  });

  // Linux only: elsewhere an allocation that does not fit fails by itself (lib/load-native.ts)
  it.runIf(process.platform === 'linux')("Reranker.load measures the process's available memory: refused with MODEL_LOAD_FAILED, and the next load ranks", async () => {
    const available = 160 * MiB;
    const spy = vi.spyOn(process, 'availableMemory').mockReturnValue(available);
    try {
      // 8 streams of 131,328 cells of the tiny model's 256 bytes: about 269 MB
      const err = await Reranker.load({ model: tinyModel('rank'), gpu: 'cpu', kvStreams: 8, maxLength: 131072 }).catch((e) => e);
      expect(err).toBeInstanceOf(RerankError);
      expect(err.code).toBe('MODEL_LOAD_FAILED');
      const [, needMiB] = /KV cache needs (\d+) MiB .*more than the 160 MiB available: lower .*kvStreams/.exec(err.message) ?? [];
      expect(Number(needMiB)).toBeGreaterThan(250);
      const r = await Reranker.load({ model: tinyModel('rank'), gpu: 'cpu', maxLength: 512 });
      expect(r.info.kvCacheBytes + r.info.sizeBytes).toBeLessThan(available);
      expect((await r.rerank(exampleRequest())).results).toHaveLength(exampleRequest().documents.length);
      r.dispose();
    } finally {
      spy.mockRestore();
    }
  });
});
