// dispose() frees the model and its KV cache then and there, not when V8 gets round to collecting
// the JS object. In a file of its own: RSS is the process's.
import { describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import { exampleRequest, tinyModel } from './helpers.js';

describe('dispose()', () => {
  it('frees the model at once: RSS stays flat over load / rerank / dispose cycles', async () => {
    // A 65,536-token F32 KV cache: 66,048 cells x 2 layers x (K + V) x 32 x 4 bytes = 34 MB, plus the model.
    const options = { model: tinyModel('rank'), maxLength: 65536, kvType: 'f32' as const };
    const cycle = async () => {
      const r = await Reranker.load(options);
      await r.rerank(exampleRequest());
      const loaded = process.memoryUsage().rss;
      r.dispose();
      return loaded;
    };
    await cycle(); // warm-up: the allocator's and the addon's own first-use memory
    const base = process.memoryUsage().rss;
    const held = (await cycle()) - base; // what one loaded model holds
    expect(held).toBeGreaterThan(34e6);
    for (let i = 0; i < 6; i++) await cycle();
    // Before the fix every cycle kept its model: about 7 x held by now.
    expect(process.memoryUsage().rss - base).toBeLessThan(2 * held);
  });
});
