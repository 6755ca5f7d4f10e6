// A host-side trace of the CUDA calls a process makes, for GPU machines without Nsight Systems (the
// lent H200s have none that works): preloaded, it times each call of the functions below and writes
// them at exit, one "name,start_ns,duration_ns" line each (CLOCK_MONOTONIC, the clock of Node's
// process.hrtime), to the file LLAMA_RERANK_CUDA_TRACE names with ".<pid>" appended (a traced
// process's children, such as llama-rerank's backend probe, inherit the preload and write their own).
//   cc -O2 -shared -fPIC -o cuda-api-trace.so cuda-api-trace.c -ldl -lpthread
//   LD_PRELOAD=$PWD/cuda-api-trace.so LLAMA_RERANK_CUDA_TRACE=/tmp/trace.csv node ...
// What it answers (bench/profile.ts): inside a request, does ggml's memory pool allocate (cudaMalloc
// and cudaFree for the legacy pool; the driver's cuMemCreate, cuMemMap... for the VMM pool), how long
// does the host wait for the GPU (the synchronizations), how many kernels does it launch one by one
// (nvcc's <<<>>> calls __cudaLaunchKernel) and how long that takes, are CUDA graphs captured and
// replayed. A launch while its thread captures a graph is recorded as "captured launch": it is put
// into the graph, not run.
// ggml-cuda is a library loaded at run time into a scope of its own (RTLD_LOCAL), with the runtime
// and the driver as its dependencies, so the real functions are looked up in those loaded libraries,
// not with RTLD_NEXT. Test tooling: never part of the package.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// The handles are pointers or 64-bit integers and the enums ints: declared opaquely, so this builds
// without a CUDA toolkit. dim3 is three unsigned ints, passed by value.
typedef struct { unsigned x, y, z; } dim3_t;
typedef unsigned long long u64_t;

enum { RUNTIME, DRIVER, LIBRARY_COUNT };
static const char* const kLibraries[] = {"libcudart.so", "libcuda.so."};

#define FUNCTIONS(X)                                                                                          \
  X(RUNTIME, cudaMalloc, (void** p, size_t n), (p, n))                                                        \
  X(RUNTIME, cudaFree, (void* p), (p))                                                                        \
  X(RUNTIME, cudaMallocHost, (void** p, size_t n), (p, n))                                                    \
  X(RUNTIME, cudaHostAlloc, (void** p, size_t n, unsigned flags), (p, n, flags))                              \
  X(RUNTIME, cudaFreeHost, (void* p), (p))                                                                    \
  X(RUNTIME, cudaDeviceSynchronize, (void), ())                                                               \
  X(RUNTIME, cudaStreamSynchronize, (void* stream), (stream))                                                 \
  X(RUNTIME, cudaEventSynchronize, (void* event), (event))                                                    \
  X(RUNTIME, cudaMemcpy, (void* dst, const void* src, size_t n, int kind), (dst, src, n, kind))               \
  X(RUNTIME, cudaMemcpyAsync, (void* dst, const void* src, size_t n, int kind, void* s), (dst, src, n, kind, s)) \
  X(RUNTIME, cudaMemsetAsync, (void* p, int v, size_t n, void* s), (p, v, n, s))                              \
  X(RUNTIME, cudaLaunchKernel, (const void* f, dim3_t g, dim3_t b, void** a, size_t sh, void* s), (f, g, b, a, sh, s)) \
  X(RUNTIME, __cudaLaunchKernel, (void* k, dim3_t g, dim3_t b, void** a, size_t sh, void* s), (k, g, b, a, sh, s)) \
  X(RUNTIME, __cudaLaunchKernel_ptsz, (void* k, dim3_t g, dim3_t b, void** a, size_t sh, void* s), (k, g, b, a, sh, s)) \
  X(RUNTIME, cudaLaunchKernelExC, (const void* config, const void* f, void** a), (config, f, a))              \
  X(RUNTIME, cudaStreamBeginCapture, (void* s, int mode), (s, mode))                                          \
  X(RUNTIME, cudaStreamEndCapture, (void* s, void** graph), (s, graph))                                       \
  X(RUNTIME, cudaGraphInstantiate, (void** exec, void* graph, u64_t flags), (exec, graph, flags))             \
  X(RUNTIME, cudaGraphExecUpdate, (void* exec, void* graph, void* info), (exec, graph, info))                 \
  X(RUNTIME, cudaGraphLaunch, (void* exec, void* s), (exec, s))                                               \
  X(DRIVER, cuMemCreate, (u64_t* h, size_t n, const void* prop, u64_t flags), (h, n, prop, flags))            \
  X(DRIVER, cuMemRelease, (u64_t h), (h))                                                                     \
  X(DRIVER, cuMemAddressReserve, (u64_t* p, size_t n, size_t align, u64_t addr, u64_t flags), (p, n, align, addr, flags)) \
  X(DRIVER, cuMemAddressFree, (u64_t p, size_t n), (p, n))                                                    \
  X(DRIVER, cuMemMap, (u64_t p, size_t n, size_t offset, u64_t h, u64_t flags), (p, n, offset, h, flags))     \
  X(DRIVER, cuMemUnmap, (u64_t p, size_t n), (p, n))                                                          \
  X(DRIVER, cuMemSetAccess, (u64_t p, size_t n, const void* desc, size_t count), (p, n, desc, count))

enum {
#define ID(lib, name, params, args) ID_##name,
  FUNCTIONS(ID)
#undef ID
  ID_captured_launch,  // a launch while its thread captures a graph
  NAME_COUNT
};
static const char* const kNames[] = {
#define NAME(lib, name, params, args) #name,
    FUNCTIONS(NAME)
#undef NAME
    "captured launch",
};
static const int kLibraryOf[] = {
#define LIB(lib, name, params, args) lib,
    FUNCTIONS(LIB)
#undef LIB
};

typedef struct {
  uint64_t start_ns;
  uint32_t duration_ns;
  uint32_t name;
} event_t;

enum { MAX_EVENTS = 1 << 22 };  // 64 MiB of address space; only what is written is touched
static event_t* events;
static atomic_size_t event_count;
static atomic_size_t events_dropped;
static __thread int capturing;  // between this thread's cudaStreamBeginCapture and EndCapture

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int is_launch(int id) {
  return id == ID_cudaLaunchKernel || id == ID___cudaLaunchKernel || id == ID___cudaLaunchKernel_ptsz || id == ID_cudaLaunchKernelExC;
}

static void record(int id, uint64_t start, int rc) {
  const uint64_t end = now_ns();
  const int name = capturing && is_launch(id) ? ID_captured_launch : id;
  if (id == ID_cudaStreamBeginCapture && rc == 0) capturing = 1;
  if (id == ID_cudaStreamEndCapture) capturing = 0;
  const size_t i = atomic_fetch_add(&event_count, 1);
  if (events == NULL || i >= MAX_EVENTS) {
    atomic_fetch_add(&events_dropped, 1);
    return;
  }
  events[i] = (event_t){start, (uint32_t)(end - start > UINT32_MAX ? UINT32_MAX : end - start), (uint32_t)name};
}

// The real functions, looked up once per library, the first time one of its functions is called:
// the caller has loaded that library by then.
static void* real_functions[NAME_COUNT];
static pthread_once_t resolved[LIBRARY_COUNT] = {PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT};

struct found {
  const char* wanted;
  char path[4096];
};

static int find_library(struct dl_phdr_info* info, size_t size, void* data) {
  (void)size;
  struct found* f = data;
  if (info->dlpi_name == NULL || strstr(info->dlpi_name, f->wanted) == NULL) return 0;
  // copied: dlopen here, under the loader's lock that dl_iterate_phdr holds, could deadlock
  snprintf(f->path, sizeof f->path, "%s", info->dlpi_name);
  return 1;
}

static void resolve(int library) {
  struct found f = {kLibraries[library], {0}};
  dl_iterate_phdr(find_library, &f);
  void* handle = f.path[0] != 0 ? dlopen(f.path, RTLD_NOW | RTLD_NOLOAD) : NULL;
  if (handle == NULL) return;
  for (int id = 0; id < ID_captured_launch; id++) {
    if (kLibraryOf[id] == library) real_functions[id] = dlsym(handle, kNames[id]);
  }
}
static void resolve_runtime(void) { resolve(RUNTIME); }
static void resolve_driver(void) { resolve(DRIVER); }

static void* real(int id) {
  pthread_once(&resolved[kLibraryOf[id]], kLibraryOf[id] == RUNTIME ? resolve_runtime : resolve_driver);
  if (real_functions[id] == NULL) {
    fprintf(stderr, "cuda-api-trace: %s not found in a loaded %s\n", kNames[id], kLibraries[kLibraryOf[id]]);
    abort();
  }
  return real_functions[id];
}

#define WRAP(lib, name, params, args)                 \
  int name params {                                   \
    typedef int(*fn_t) params;                        \
    fn_t real_fn = (fn_t)real(ID_##name);             \
    const uint64_t start_ns = now_ns();               \
    const int rc = real_fn args;                      \
    record(ID_##name, start_ns, rc);                  \
    return rc;                                        \
  }
FUNCTIONS(WRAP)
#undef WRAP

__attribute__((constructor)) static void start_trace(void) {
  events = malloc(sizeof(event_t) * (size_t)MAX_EVENTS);
}

__attribute__((destructor)) static void write_trace(void) {
  const char* base = getenv("LLAMA_RERANK_CUDA_TRACE");
  if (base == NULL || events == NULL) return;
  char path[4096];
  snprintf(path, sizeof path, "%s.%ld", base, (long)getpid());
  FILE* out = fopen(path, "w");
  if (out == NULL) {
    perror("cuda-api-trace: cannot write LLAMA_RERANK_CUDA_TRACE");
    return;
  }
  size_t n = atomic_load(&event_count);
  if (n > MAX_EVENTS) n = MAX_EVENTS;
  fprintf(out, "name,start_ns,duration_ns\n");
  for (size_t i = 0; i < n; i++) {
    fprintf(out, "%s,%llu,%u\n", kNames[events[i].name], (unsigned long long)events[i].start_ns, events[i].duration_ns);
  }
  if (atomic_load(&events_dropped) > 0) fprintf(out, "dropped,0,%zu\n", atomic_load(&events_dropped));
  fclose(out);
}
