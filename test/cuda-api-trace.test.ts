// bench/gpu/cuda-api-trace.c, the preloaded tracer the GPU run's profile uses where Nsight Systems
// does not work, on a stand-in CUDA runtime: as with ggml-cuda, the library calling the runtime is
// loaded at run time into a scope of its own, and the tracer must pass every call through unchanged.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CAPTURED_LAUNCH, apiSummary, callsIn, readApiTrace } from '../bench/gpu-timeline.js';
import { packageRoot } from '../models/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'cuda-api-trace-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The runtime and the driver: each call leaves a mark the caller checks, and cudaMalloc sleeps 2 ms.
const FAKE_CUDART = `
#include <stddef.h>
#include <time.h>
typedef struct { unsigned x, y, z; } dim3;
int cudaMalloc(void** p, size_t n) {
  struct timespec t = {0, 2000000};
  nanosleep(&t, NULL);
  *p = (void*)(0x1000 + n);
  return 0;
}
int cudaFree(void* p) { return p == (void*)0x1040 ? 0 : 7; }
int cudaStreamSynchronize(void* s) { return s == (void*)0x5 ? 0 : 7; }
int __cudaLaunchKernel(void* k, dim3 g, dim3 b, void** a, size_t sh, void* s) {
  return (int)(g.x + g.y + g.z + b.x + b.y + b.z + sh) + (a == NULL ? 0 : 100) + (k == (void*)0x9 && s == (void*)0x5 ? 0 : 1000);
}
int cudaStreamBeginCapture(void* s, int mode) { return s == (void*)0x5 && mode == 2 ? 0 : 7; }
int cudaStreamEndCapture(void* s, void** graph) { *graph = (void*)0x77; return s == (void*)0x5 ? 0 : 7; }
`;
const FAKE_DRIVER = `
int cuMemCreate(unsigned long long* h, unsigned long n, const void* prop, unsigned long long flags) {
  *h = 0xabc; return n == 0x200000 && prop == (void*)0x8 && flags == 0 ? 0 : 7;
}
`;
// The library calling them, like ggml-cuda: linked against both, checks every answer. Its kernels
// are launched as nvcc's <<<>>> launches them, two of them while a graph is captured.
const BACKEND = `
#include <stddef.h>
typedef struct { unsigned x, y, z; } dim3;
int cudaMalloc(void** p, size_t n);
int cudaFree(void* p);
int cudaStreamSynchronize(void* s);
int __cudaLaunchKernel(void* k, dim3 g, dim3 b, void** a, size_t sh, void* s);
int cudaStreamBeginCapture(void* s, int mode);
int cudaStreamEndCapture(void* s, void** graph);
int cuMemCreate(unsigned long long* h, unsigned long n, const void* prop, unsigned long long flags);
static int launch(unsigned i) {
  dim3 g = {i, 2, 3}, b = {4, 5, 6};
  return __cudaLaunchKernel((void*)0x9, g, b, NULL, 7, (void*)0x5) == (int)(i + 27);
}
int run(void) {
  void* p = NULL;
  for (size_t n = 0x20; n <= 0x40; n += 0x10) if (cudaMalloc(&p, n) != 0 || p != (void*)(0x1000 + n)) return 1;
  if (cudaFree(p) != 0) return 2;
  for (unsigned i = 0; i < 5; i++) if (!launch(i)) return 3;
  for (int i = 0; i < 2; i++) if (cudaStreamSynchronize((void*)0x5) != 0) return 4;
  void* graph = NULL;
  if (cudaStreamBeginCapture((void*)0x5, 2) != 0 || !launch(1) || !launch(2)) return 5;
  if (cudaStreamEndCapture((void*)0x5, &graph) != 0 || graph != (void*)0x77 || !launch(3)) return 6;
  unsigned long long h = 0;
  if (cuMemCreate(&h, 0x200000, (void*)0x8, 0) != 0 || h != 0xabc) return 7;
  return 0;
}
`;
// The process: loads the library as ggml loads a backend, with RTLD_LOCAL.
const MAIN = `
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char** argv) {
  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) { fprintf(stderr, "%s\\n", dlerror()); return 10; }
  int (*run)(void) = (int (*)(void))dlsym(lib, "run");
  return run ? run() : 11;
}
`;

function build(): { main: string; backend: string; tracer: string } {
  const cc = (...a: string[]) => execFileSync('cc', a, { cwd: dir, stdio: 'pipe' });
  writeFileSync(join(dir, 'cudart.c'), FAKE_CUDART);
  writeFileSync(join(dir, 'driver.c'), FAKE_DRIVER);
  writeFileSync(join(dir, 'backend.c'), BACKEND);
  writeFileSync(join(dir, 'main.c'), MAIN);
  cc('-shared', '-fPIC', '-o', 'libcudart.so.13', '-Wl,-soname,libcudart.so.13', 'cudart.c');
  cc('-shared', '-fPIC', '-o', 'libcuda.so.1', '-Wl,-soname,libcuda.so.1', 'driver.c');
  cc('-shared', '-fPIC', '-o', 'libbackend.so', 'backend.c', './libcudart.so.13', './libcuda.so.1', '-Wl,-rpath,$ORIGIN');
  cc('-o', 'main', 'main.c', '-ldl');
  cc('-O2', '-shared', '-fPIC', '-o', 'cuda-api-trace.so', join(packageRoot, 'bench', 'gpu', 'cuda-api-trace.c'), '-ldl', '-lpthread');
  return { main: join(dir, 'main'), backend: join(dir, 'libbackend.so'), tracer: join(dir, 'cuda-api-trace.so') };
}

describe('cuda-api-trace', () => {
  it('records each runtime call of a library loaded with RTLD_LOCAL, and passes arguments and results through', () => {
    const { main, backend, tracer } = build();
    const trace = join(dir, 'trace.csv');
    const run = spawnSync(main, [backend], { env: { ...process.env, LD_PRELOAD: tracer, LLAMA_RERANK_CUDA_TRACE: trace }, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0); // every answer the library checked came through unchanged

    const rows = readApiTrace(readFileSync(`${trace}.${run.pid}`, 'utf8')); // the process's own file
    const calls = callsIn(rows, 0, Number.MAX_SAFE_INTEGER);
    const count = Object.fromEntries(calls.map((c) => [c.name, c.calls]));
    expect(count).toEqual({
      cudaMalloc: 3, cudaFree: 1, __cudaLaunchKernel: 6, cudaStreamSynchronize: 2,
      cudaStreamBeginCapture: 1, [CAPTURED_LAUNCH]: 2, cudaStreamEndCapture: 1, cuMemCreate: 1,
    });
    // durations are the calls' own: cudaMalloc sleeps 2 ms each time, and comes first (most time)
    expect(calls[0].name).toBe('cudaMalloc');
    expect(calls[0].ms).toBeGreaterThanOrEqual(6);
    expect(calls[0].longestMs).toBeGreaterThanOrEqual(2);
    // in call order, on the monotonic clock
    const starts = rows.map((r) => r.startNs);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    // a window keeps the calls that start inside it
    expect(callsIn(rows, rows[3].startNs, rows[3].startNs).map((c) => c.name)).toEqual(['cudaFree']);
  });

  it('without the variable it writes nothing and changes nothing', () => {
    const { main, backend, tracer } = build();
    const env: NodeJS.ProcessEnv = { ...process.env, LD_PRELOAD: tracer };
    delete env.LLAMA_RERANK_CUDA_TRACE;
    expect(spawnSync(main, [backend], { env }).status).toBe(0);
  });

  it("bounds the GPU's idle time by the waits of one thread, and says when several threads waited at once", () => {
    const calls = (ms: number) => [{ name: 'cudaStreamSynchronize', calls: 4, ms, longestMs: ms / 4 }];
    expect(apiSummary(calls(60), 100, 4)).toMatch(/waited for the GPU 60\.0 ms of it .*idled for the host at most 40\.0 ms/);
    expect(apiSummary(calls(160), 100, 4)).toMatch(/threads waited for the GPU 160\.0 ms in all .*bounds no idle time/);
  });
});
