// A host-side trace of the CUDA runtime calls a process makes, for GPU machines without Nsight
// Systems (the lent H200s have none that works): preloaded, it times each call of the functions below
// and writes them at exit, one "name,start_ns,duration_ns" line each (CLOCK_MONOTONIC, the clock of
// Node's process.hrtime), to the file LLAMA_RERANK_CUDA_TRACE names.
//   cc -O2 -shared -fPIC -o cuda-api-trace.so cuda-api-trace.c -ldl
//   LD_PRELOAD=$PWD/cuda-api-trace.so LLAMA_RERANK_CUDA_TRACE=/tmp/trace.csv node ...
// What it answers (bench/profile.ts): inside a request, does ggml's memory pool allocate
// (cudaMalloc, cudaFree), how long does the host wait for the GPU (the synchronizations), how many
// kernels does it launch one by one and how long that takes, are CUDA graphs captured and replayed.
// ggml-cuda is a library loaded at run time with its own scope, so the real functions are looked up
// in the already loaded libcudart, not with RTLD_NEXT. Test tooling: never part of the package.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// The runtime's handles are pointers and its enums ints: declared opaquely, so this builds without
// a CUDA toolkit. dim3 is three unsigned ints, passed by value.
typedef struct { unsigned x, y, z; } dim3_t;

#define FUNCTIONS(X)                                                                                   \
  X(cudaMalloc, (void** p, size_t n), (p, n))                                                          \
  X(cudaFree, (void* p), (p))                                                                          \
  X(cudaMallocHost, (void** p, size_t n), (p, n))                                                      \
  X(cudaHostAlloc, (void** p, size_t n, unsigned flags), (p, n, flags))                                \
  X(cudaFreeHost, (void* p), (p))                                                                      \
  X(cudaDeviceSynchronize, (void), ())                                                                 \
  X(cudaStreamSynchronize, (void* stream), (stream))                                                   \
  X(cudaEventSynchronize, (void* event), (event))                                                      \
  X(cudaMemcpy, (void* dst, const void* src, size_t n, int kind), (dst, src, n, kind))                 \
  X(cudaMemcpyAsync, (void* dst, const void* src, size_t n, int kind, void* s), (dst, src, n, kind, s)) \
  X(cudaMemsetAsync, (void* p, int v, size_t n, void* s), (p, v, n, s))                                \
  X(cudaLaunchKernel, (const void* f, dim3_t g, dim3_t b, void** a, size_t sh, void* s), (f, g, b, a, sh, s)) \
  X(cudaLaunchKernelExC, (const void* config, const void* f, void** a), (config, f, a))                \
  X(cudaStreamBeginCapture, (void* s, int mode), (s, mode))                                            \
  X(cudaStreamEndCapture, (void* s, void** graph), (s, graph))                                         \
  X(cudaGraphInstantiate, (void** exec, void* graph, unsigned long long flags), (exec, graph, flags))  \
  X(cudaGraphExecUpdate, (void* exec, void* graph, void* info), (exec, graph, info))                   \
  X(cudaGraphLaunch, (void* exec, void* s), (exec, s))

enum {
#define ID(name, params, args) ID_##name,
  FUNCTIONS(ID)
#undef ID
  FUNCTION_COUNT
};
static const char* const kNames[] = {
#define NAME(name, params, args) #name,
    FUNCTIONS(NAME)
#undef NAME
};

typedef struct {
  uint64_t start_ns;
  uint32_t duration_ns;
  uint32_t function;
} event_t;

enum { MAX_EVENTS = 1 << 22 };  // 64 MiB of address space; only what is written is touched
static event_t* events;
static atomic_size_t event_count;
static atomic_size_t events_dropped;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void record(int function, uint64_t start) {
  const uint64_t end = now_ns();
  const size_t i = atomic_fetch_add(&event_count, 1);
  if (events == NULL || i >= MAX_EVENTS) {
    atomic_fetch_add(&events_dropped, 1);
    return;
  }
  events[i] = (event_t){start, (uint32_t)(end - start > UINT32_MAX ? UINT32_MAX : end - start), (uint32_t)function};
}

static int find_cudart(struct dl_phdr_info* info, size_t size, void* out) {
  (void)size;
  if (info->dlpi_name != NULL && strstr(info->dlpi_name, "libcudart.so") != NULL) {
    *(void**)out = dlopen(info->dlpi_name, RTLD_NOW | RTLD_NOLOAD);
    return *(void**)out != NULL;
  }
  return 0;
}

// The real function: looked up in the loaded libcudart the first time (the caller loaded it already).
static void* real(int function) {
  static void* table[FUNCTION_COUNT];
  if (table[function] == NULL) {
    void* cudart = NULL;
    dl_iterate_phdr(find_cudart, &cudart);
    void* f = cudart != NULL ? dlsym(cudart, kNames[function]) : NULL;
    if (f == NULL) {
      fprintf(stderr, "cuda-api-trace: %s not found in a loaded libcudart\n", kNames[function]);
      abort();
    }
    table[function] = f;
  }
  return table[function];
}

#define WRAP(name, params, args)                      \
  int name params {                                   \
    typedef int(*fn_t) params;                        \
    fn_t real_fn = (fn_t)real(ID_##name);             \
    const uint64_t start_ns = now_ns();               \
    const int rc = real_fn args;                      \
    record(ID_##name, start_ns);                      \
    return rc;                                        \
  }
FUNCTIONS(WRAP)
#undef WRAP

__attribute__((constructor)) static void start_trace(void) {
  events = malloc(sizeof(event_t) * (size_t)MAX_EVENTS);
}

__attribute__((destructor)) static void write_trace(void) {
  const char* path = getenv("LLAMA_RERANK_CUDA_TRACE");
  if (path == NULL || events == NULL) return;
  FILE* out = fopen(path, "w");
  if (out == NULL) {
    perror("cuda-api-trace: cannot write LLAMA_RERANK_CUDA_TRACE");
    return;
  }
  size_t n = atomic_load(&event_count);
  if (n > MAX_EVENTS) n = MAX_EVENTS;
  fprintf(out, "name,start_ns,duration_ns\n");
  for (size_t i = 0; i < n; i++) {
    fprintf(out, "%s,%llu,%u\n", kNames[events[i].function], (unsigned long long)events[i].start_ns, events[i].duration_ns);
  }
  if (atomic_load(&events_dropped) > 0) fprintf(out, "dropped,0,%zu\n", atomic_load(&events_dropped));
  fclose(out);
}
