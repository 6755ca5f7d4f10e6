// BF16 weights converted from a Q8_0 file at load, in memory (native/weights_at_load.h): the default
// (weights: 'auto') with every layer on CUDA. Here, without a GPU, the native load's 'bf16' converts
// on the CPU: the same conversion, whose model must be the one llama.cpp's quantizer writes to disk
// (the same scores, bit for bit), with no file written and no memory kept once loaded.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { Reranker } from '../lib/index.js';
import { type NativeLoadOptions, nativeModule } from '../lib/native.js';
import { withWeightType } from '../test-models/weight-types.js';
import { exampleRequest, scoresByIndex, tinyModel } from './helpers.js';

const IN_MEMORY_FILE = 'memfd:llama-rerank-bf16';

const native = (path: string, weights: NativeLoadOptions['weights']): NativeLoadOptions => ({
  path, weights, gpu: 'cpu', threads: 2, maxLength: 2048, batchSize: 512, ubatchSize: 512, maxSequences: 64,
  flashAttention: 'off', kvType: 'f32', pack: false,
});

async function nativeScores(options: NativeLoadOptions): Promise<{ scores: number[]; description: string; converted: boolean; held: number; error?: string }> {
  const model = await nativeModule().loadModel(options);
  try {
    const held = inMemoryFilesHeld(); // while the model is loaded
    const { query, documents } = exampleRequest();
    const [group] = (await model.score([{
      id: 1, instruction: 'Given a web search query, retrieve relevant passages that answer the query', query, documents: documents as string[],
      maxLength: 2048, truncate: true, sharePrefix: true, maxChunks: 1, chunkOverlap: 80, tokenBudget: 0,
    }])).groups;
    const info = model.info();
    return { scores: Array.from(group.scores), description: info.description, converted: info.weightsConvertedAtLoad, held, error: info.weightsConversionError };
  } finally {
    model.dispose();
  }
}

/** This process's open files and mappings of the conversion's in-memory file. */
function inMemoryFilesHeld(): number {
  const fds = readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(`/${IN_MEMORY_FILE}`);
    } catch {
      return false; // closed since it was listed
    }
  });
  const maps = readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line.includes(IN_MEMORY_FILE));
  return fds.length + maps.length;
}

describe.runIf(process.platform === 'linux')('weights converted to BF16 at load', () => {
  it("scores as the quantizer's BF16 file does, bit for bit, for both GGUF kinds; keeps no in-memory file once loaded", async () => {
    for (const kind of ['rank', 'causal'] as const) {
      const q8 = await withWeightType(tinyModel(kind), 'Q8_0');
      const converted = await nativeScores(native(q8, 'bf16'));
      expect(converted.converted).toBe(true);
      expect(converted.error).toBeUndefined();
      expect(converted.description).toMatch(/BF16/);
      expect(converted.held).toBe(0);

      const onDisk = await nativeScores(native(await withWeightType(q8, 'BF16'), 'stored'));
      expect(onDisk.converted).toBe(false);
      expect(converted.scores).toEqual(onDisk.scores);
      // and they are not the Q8_0 file's: the conversion took place
      const stored = await nativeScores(native(q8, 'stored'));
      expect(stored.description).toMatch(/Q8_0/);
      expect(stored.scores).not.toEqual(converted.scores);
    }
  });

  it("the library asks the native load for 'auto' by default, and for the stored weights with 'stored'", async () => {
    const q8 = await withWeightType(tinyModel('rank'), 'Q8_0');
    const loadModel = vi.spyOn(nativeModule(), 'loadModel');
    try {
      for (const weights of [undefined, 'auto', 'stored'] as const) (await Reranker.load({ model: q8, gpu: 'cpu', weights })).dispose();
      expect(loadModel.mock.calls.map(([o]) => o.weights)).toEqual(['auto', 'auto', 'stored']);
    } finally {
      loadModel.mockRestore();
    }
  });

  it("'auto' (the default) leaves the file as it is without CUDA: scores, info and description as 'stored'", async () => {
    const q8 = await withWeightType(tinyModel('rank'), 'Q8_0');
    const load = { model: q8, gpu: 'cpu', flashAttention: 'off', kvType: 'f32', threads: 2 } as const;
    const auto = await Reranker.load(load);
    const stored = await Reranker.load({ ...load, weights: 'stored' });
    try {
      expect(auto.info.weightsConvertedAtLoad).toBe(false);
      expect(auto.info.description).toBe(stored.info.description);
      expect(scoresByIndex(await auto.rerank(exampleRequest()))).toEqual(scoresByIndex(await stored.rerank(exampleRequest())));
    } finally {
      auto.dispose();
      stored.dispose();
    }
  });
});
