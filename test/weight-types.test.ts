// Every weight type a Qwen3-Reranker GGUF comes in loads and scores on the CPU, close to the F32
// file it was made from. The generator writes F32; llama.cpp's own quantizer (the addon's
// quantizeModel) makes the rest, every 2-D weight in the named type.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import { nativeModule } from '../lib/native.js';
import { GgufFile } from '../test-models/gguf/reader.js';
import { ensureTestModel } from '../test-models/generate.js';
import { withWeightType } from '../test-models/weight-types.js';
import { exampleRequest, scoresByIndex } from './helpers.js';

/** ggml.h's enum ggml_type. */
const GGML_TYPE = { F32: 0, F16: 1, Q8_0: 8, Q4_K: 12, BF16: 30 } as const;
type WeightType = keyof typeof GGML_TYPE;

/**
 * Each type's relative rounding step: F16 and BF16 keep 11 and 8 significant bits (2^-11, 2^-8 of
 * the value); Q8_0 rounds to 1/127 of its 32-weight block's largest magnitude; Q4_K to 1/15 of its
 * block's range. On the CPU ggml also rounds the activations to the weights' type (or to 8 bits).
 */
const ROUNDING: Record<Exclude<WeightType, 'F32'>, number> = { F16: 2 ** -11, BF16: 2 ** -8, Q8_0: 1 / 127, Q4_K: 1 / 15 };
/** Rounded products on a score's path in the 2-layer model: 7 matmuls a layer, the embedding, the head. */
const ROUNDED_STEPS = 2 * 7 + 2;

/**
 * How far a score may move. The score is p = σ(Δl), Δl the yes-no logit gap, so |δp| ≤ |δΔl| / 4.
 * Each rounded step moves its output by at most u of its size, the steps independently, so the
 * gap moves by about √steps · u · |Δl|, taken at the largest gap of the F32 scores.
 */
function tolerance(type: Exclude<WeightType, 'F32'>, maxGap: number): number {
  return 0.25 * Math.sqrt(ROUNDED_STEPS) * ROUNDING[type] * maxGap;
}

// Exact attention and an F32 KV cache: the only difference left between the files is their weights.
const options = { gpu: 'cpu', flashAttention: 'off', kvType: 'f32', threads: 2 } as const;

describe('weight types on the CPU', () => {
  // 256 wide: Q4_K's super-blocks fit its rows (the tiny model's 64 would fall back to Q5_0).
  const f32 = ensureTestModel({ shape: 'tiny-k', kind: 'rank', seed: 1 });
  let reference: number[];
  let maxGap: number;
  beforeAll(async () => {
    const model = await Reranker.load({ model: f32, ...options });
    reference = scoresByIndex(await model.rerank(exampleRequest()));
    model.dispose();
    maxGap = Math.max(...reference.map((p) => Math.abs(Math.log(p / (1 - p)))));
  });
  const measured: string[] = [];
  afterAll(() => console.log(`weight types, largest score difference from F32: ${measured.join(', ')}`));

  for (const type of ['F16', 'BF16', 'Q8_0', 'Q4_K'] as const) {
    it(`${type} loads, scores every document finitely, and agrees with F32 within its rounding`, async () => {
      const path = await withWeightType(f32, type);
      const weights = [...GgufFile.open(path).tensors.values()].filter((t) => t.dims.length > 1);
      expect(new Set(weights.map((t) => t.type as number))).toEqual(new Set([GGML_TYPE[type]]));

      const model = await Reranker.load({ model: path, ...options });
      const scores = scoresByIndex(await model.rerank(exampleRequest()));
      model.dispose();
      expect(scores).toHaveLength(reference.length);
      for (const s of scores) expect(Number.isFinite(s) && s > 0 && s < 1).toBe(true);
      const diff = Math.max(...scores.map((s, i) => Math.abs(s - reference[i])));
      measured.push(`${type} ${diff.toExponential(1)} (tolerance ${tolerance(type, maxGap).toExponential(1)})`);
      expect(diff).toBeLessThanOrEqual(tolerance(type, maxGap));
    });
  }

  // The copy's weights are the Q8_0 values rounded to BF16; the Q8_0 file's activations are rounded
  // to 8 bits, the copy's to BF16: the two differ by both roundings.
  it("weights: 'bf16' on a Q8_0 file (dequantized, then rounded to BF16) agrees with the Q8_0 file within both roundings", async () => {
    const q8 = await withWeightType(f32, 'Q8_0');
    const stored = await Reranker.load({ model: q8, weights: 'stored', ...options });
    const q8Scores = scoresByIndex(await stored.rerank(exampleRequest()));
    stored.dispose();
    const cache = mkdtempSync(join(tmpdir(), 'llama-rerank-weights-')); // not the user's model cache
    const before = process.env.LLAMA_RERANK_CACHE;
    process.env.LLAMA_RERANK_CACHE = cache;
    const copy = await Reranker.load({ model: q8, weights: 'bf16', ...options }).finally(() => {
      if (before === undefined) delete process.env.LLAMA_RERANK_CACHE;
      else process.env.LLAMA_RERANK_CACHE = before;
    });
    rmSync(cache, { recursive: true, force: true }); // loaded: the file is no longer needed
    const scores = scoresByIndex(await copy.rerank(exampleRequest()));
    expect(copy.info.description).toMatch(/BF16/);
    copy.dispose();
    const gap = Math.max(...q8Scores.map((p) => Math.abs(Math.log(p / (1 - p)))));
    const diff = Math.max(...scores.map((s, i) => Math.abs(s - q8Scores[i])));
    const bound = tolerance('Q8_0', gap) + tolerance('BF16', gap);
    measured.push(`Q8_0 as BF16 vs Q8_0 ${diff.toExponential(1)} (tolerance ${bound.toExponential(1)})`);
    expect(diff).toBeLessThanOrEqual(bound);
  });

  it('quantizeModel refuses a type it does not know', async () => {
    expect(() => nativeModule().quantizeModel(f32, '/tmp/never.gguf', 'Q3_X')).toThrow(/unknown type Q3_X/);
  });
});
