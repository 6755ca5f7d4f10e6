// The bench's configurations that run on a CUDA library built another way (bench/configs.ts): the
// engine's process must get that library, and a run without its path must stop before it starts.
import { afterEach, describe, expect, it } from 'vitest';
import { CONFIGS, configEnv, missingLibrary } from '../bench/configs.js';

describe('bench configurations on another CUDA library', () => {
  const saved = process.env.LLAMA_RERANK_CUBLAS_LIBRARY;
  afterEach(() => {
    if (saved === undefined) delete process.env.LLAMA_RERANK_CUBLAS_LIBRARY;
    else process.env.LLAMA_RERANK_CUBLAS_LIBRARY = saved;
  });

  it('names the library its variable holds, beside its own variables', () => {
    process.env.LLAMA_RERANK_CUBLAS_LIBRARY = '/x/libggml-cuda.so';
    expect(configEnv(CONFIGS['cublas-bf16'])).toEqual({ GGML_CUDA_CUBLAS_COMPUTE_TYPE: 'bf16', LLAMA_RERANK_BACKEND_PATH: '/x/libggml-cuda.so' });
    expect(configEnv(CONFIGS['graphs-off'])).toEqual({ GGML_CUDA_DISABLE_GRAPHS: '1' });
    expect(missingLibrary(['graphs-off', 'cublas', 'cublas-bf16'])).toBeUndefined();
  });

  it('says which variable and which build a configuration lacks', () => {
    delete process.env.LLAMA_RERANK_CUBLAS_LIBRARY;
    expect(missingLibrary(['contexts-2', 'cublas'])).toMatch(/cublas needs LLAMA_RERANK_CUBLAS_LIBRARY.*GGML_CUDA_FORCE_CUBLAS=ON/);
    expect(missingLibrary(['contexts-2'])).toBeUndefined();
  });
});
