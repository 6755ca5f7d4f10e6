// Every weight type a Qwen3-Reranker GGUF comes in loads and scores on the CPU, close to the F32
// file it was made from. The generator writes F32; llama.cpp's own quantizer (the addon's
// quantizeModel) makes the rest, every 2-D weight in the named type.
import { existsSync, renameSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../lib/index.js';
import { nativeModule } from '../lib/native.js';
import { GgufFile } from '../test-models/gguf/reader.js';
import { ensureTestModel } from '../test-models/generate.js';
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

async function quantized(f32: string, type: Exclude<WeightType, 'F32'>): Promise<string> {
  const path = f32.replace(/\.gguf$/, `-${type}.gguf`);
  if (existsSync(path)) return path;
  const tmp = `${path}.${process.pid}.tmp`;
  await nativeModule().quantizeModel(f32, tmp, type);
  renameSync(tmp, path);
  return path;
}

// Exact attention and an F32 KV cache: the only difference left between the files is their weights.
const options = { flashAttention: 'off', kvType: 'f32', threads: 2 } as const;

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
      const path = await quantized(f32, type);
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

  it('quantizeModel refuses a type it does not know', async () => {
    expect(() => nativeModule().quantizeModel(f32, '/tmp/never.gguf', 'Q3_X')).toThrow(/unknown type Q3_X/);
  });
});
