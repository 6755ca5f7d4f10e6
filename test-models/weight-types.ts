// Copies of a generated model in another weight type, made by llama.cpp's own quantizer (the
// addon's quantizeModel: every 2-D weight in the named type) and kept beside it for the next run.
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync } from 'node:fs';
import { nativeModule } from '../lib/native.js';

export const WEIGHT_TYPES = ['F32', 'F16', 'BF16', 'Q8_0', 'Q4_K'] as const;
export type WeightType = (typeof WEIGHT_TYPES)[number];

/** `model` with its weights in `type`: `<model>-<type>.gguf`, made once (a quantized source is dequantized first). */
export async function withWeightType(model: string, type: Exclude<WeightType, 'F32'>): Promise<string> {
  const path = model.replace(/\.gguf$/, `-${type}.gguf`);
  if (existsSync(path)) return path;
  const tmp = `${path}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`; // test files may run in threads of one process
  await nativeModule().quantizeModel(model, tmp, type);
  renameSync(tmp, path); // whole or not at all: a run cut short leaves no half-written copy to load
  return path;
}
