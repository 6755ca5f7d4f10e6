// The load option `weights: 'bf16' | 'f16'`: a copy of the model with its weight matrices in that
// type, made once by llama.cpp's own quantizer (a quantized file is dequantized) and kept in the
// model cache for the next load. Why: Q8_0 files run their matrix products through ggml's int8
// kernels; BF16 ones through the CPU's AVX512-BF16 instructions where it has them (1.8× the pairs/s
// on this project's AMD EPYC machines, README "Weights") and through cuBLAS on a CUDA GPU's tensor cores.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { RerankError } from './errors.js';
import { modelCacheDir } from './model-resolve.js';
import { nativeModule } from './native.js';
import type { WeightsOption } from './types.js';

/** The weights options that load a copy of the file. */
type CopyType = Exclude<WeightsOption, 'auto' | 'stored'>;

/** Where the copy of `model` in `type` lives: named after the source's path, size and time, so an edited source gets a new copy. */
export function weightCopyPath(model: string, type: CopyType, cacheDir = modelCacheDir()): string {
  const source = resolve(model);
  const { size, mtimeMs } = statSync(source);
  const key = createHash('sha256').update(`${source}\0${size}\0${mtimeMs}`).digest('hex').slice(0, 12);
  return join(cacheDir, 'converted', `${basename(source).replace(/\.gguf$/i, '')}-${key}-${type.toUpperCase()}.gguf`);
}

/** llama.h's llama_ftype of a file whose weights are all of the type (LLAMA_FTYPE_MOSTLY_F16, _BF16). */
const FILE_TYPE: Record<CopyType, number> = { f16: 1, bf16: 32 };

/** The file's weights are already of `type` (its header says so): no copy to make. */
function alreadyOfType(model: string, type: CopyType): boolean {
  try {
    return nativeModule().modelFileType(model) === FILE_TYPE[type];
  } catch {
    return false; // no readable header: the conversion, or the load, says why
  }
}

/** Conversions in progress in this process, by destination: concurrent loads share one. */
const inFlight = new Map<string, Promise<string>>();

/**
 * The file to load for `weights`: the model itself ('stored'; 'auto', which the native load converts
 * in memory or not at all), else its copy in that type, made
 * first when missing. Rejects with RerankError (MODEL_LOAD_FAILED, field 'weights').
 */
export async function modelWithWeights(model: string, weights: WeightsOption, cacheDir = modelCacheDir()): Promise<string> {
  if (weights === 'stored' || weights === 'auto' || alreadyOfType(model, weights)) return model;
  let dest: string;
  try {
    dest = weightCopyPath(model, weights, cacheDir);
  } catch (err) {
    // the file went away or became unreadable since the options were checked
    throw new RerankError('MODEL_LOAD_FAILED', `could not read ${model}: ${(err as Error).message}`, 'weights');
  }
  if (existsSync(dest)) return dest;
  let pending = inFlight.get(dest);
  if (!pending) {
    pending = convert(model, dest, weights).finally(() => inFlight.delete(dest));
    inFlight.set(dest, pending);
  }
  return pending;
}

/** A conversion's file untouched this long was left by a process that died (the quantizer writes tensor by tensor). */
const ABANDONED_MS = 10 * 60_000;

/** Removes the temporary files of conversions to `dest` that a killed process left behind. */
function removeAbandoned(dest: string): void {
  const dir = dirname(dest);
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(`${basename(dest)}.`) || !name.endsWith('.tmp')) continue;
    try {
      if (Date.now() - statSync(join(dir, name)).mtimeMs > ABANDONED_MS) rmSync(join(dir, name), { force: true });
    } catch {
      // gone meanwhile: another process finished or cleaned it
    }
  }
}

async function convert(model: string, dest: string, type: 'bf16' | 'f16'): Promise<string> {
  // Written under a name of its own (worker threads share a pid, containers sharing a cache their
  // pids), then renamed: a copy is whole or absent, and a conversion of the same file elsewhere at
  // once renames a file just as whole over it.
  const tmp = `${dest}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  try {
    mkdirSync(dirname(dest), { recursive: true });
    removeAbandoned(dest);
    await nativeModule().quantizeModel(model, tmp, type.toUpperCase());
    renameSync(tmp, dest);
    return dest;
  } catch (err) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      // nothing was written there (the folder itself could not be made)
    }
    // Windows refuses to rename over a file another conversion has just put there: that one is as good
    if (existsSync(dest)) return dest;
    throw new RerankError('MODEL_LOAD_FAILED', `could not make a ${type.toUpperCase()} copy of ${model} at ${dest}: ${(err as Error).message}`, 'weights');
  }
}
