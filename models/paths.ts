// Where the repository's own inputs live, found from this file (source or dist/) upward.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'llama-rerank') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('llama-rerank package root not found');
    dir = up;
  }
}

export const packageRoot = findRoot();
/** llama.cpp's checkout (scripts/llama-source.mjs), which carries the real Qwen2/Qwen3 tokenizer. */
export const llamaCppDir = join(packageRoot, 'deps', 'llama.cpp');
export const qwen2VocabPath = join(llamaCppDir, 'models', 'ggml-vocab-qwen2.gguf');
/** Generated test and benchmark models (ignored by git). */
export const generatedModelsDir = process.env.LLAMA_RERANK_TEST_MODELS ?? join(packageRoot, 'test', '.models');
