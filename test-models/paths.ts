// Where the test tooling's inputs and outputs live (none of it ships in the package).
import { join } from 'node:path';
import { packageRoot } from '../models/paths.js';

/** llama.cpp's checkout (scripts/llama-source.mjs), which carries the real Qwen2/Qwen3 tokenizer. */
export const llamaCppDir = join(packageRoot, 'deps', 'llama.cpp');
export const qwen2VocabPath = join(llamaCppDir, 'models', 'ggml-vocab-qwen2.gguf');
/** Generated test and benchmark models (ignored by git). */
export const generatedModelsDir = process.env.LLAMA_RERANK_TEST_MODELS ?? join(packageRoot, 'test', '.models');
