#include "device_probe.h"

#include <cmath>
#include <memory>
#include <vector>

#include "backend.h"
#include "ggml-alloc.h"
#include "ggml-backend.h"
#include "ggml.h"
#include "llama_handles.h"

namespace rerank {
namespace {

struct BackendFree {
  void operator()(ggml_backend* b) const { ggml_backend_free(b); }
};
struct BufferFree {
  void operator()(ggml_backend_buffer* b) const { ggml_backend_buffer_free(b); }
};

}  // namespace

std::string probeDevice(const std::string& deviceName) {
  ensureBackend();
  ggml_backend_dev_t dev = ggml_backend_dev_by_name(deviceName.c_str());
  if (!dev) return "no device named " + deviceName;
  std::unique_ptr<ggml_backend, BackendFree> backend(ggml_backend_dev_init(dev, nullptr));
  if (!backend) return "the device could not be initialised";

  constexpr int n = 64;
  ggml_init_params params{ggml_tensor_overhead() * 8 + ggml_graph_overhead(), nullptr, true};
  GgmlContextPtr ctx(ggml_init(params));
  ggml_tensor* a = ggml_new_tensor_2d(ctx.get(), GGML_TYPE_F32, n, n);
  ggml_tensor* b = ggml_new_tensor_2d(ctx.get(), GGML_TYPE_F32, n, n);
  ggml_tensor* c = ggml_mul_mat(ctx.get(), a, b);
  ggml_cgraph* graph = ggml_new_graph(ctx.get());
  ggml_build_forward_expand(graph, c);
  std::unique_ptr<ggml_backend_buffer, BufferFree> buffer(ggml_backend_alloc_ctx_tensors(ctx.get(), backend.get()));
  if (!buffer) return "could not allocate device memory";

  std::vector<float> av(n * n), bv(n * n), cv(n * n);
  for (int i = 0; i < n * n; ++i) {
    av[i] = static_cast<float>((i * 7) % 13) / 13.0f - 0.5f;
    bv[i] = static_cast<float>((i * 5) % 11) / 11.0f - 0.5f;
  }
  ggml_backend_tensor_set(a, av.data(), 0, av.size() * sizeof(float));
  ggml_backend_tensor_set(b, bv.data(), 0, bv.size() * sizeof(float));
  if (ggml_backend_graph_compute(backend.get(), graph) != GGML_STATUS_SUCCESS) return "the computation failed";
  ggml_backend_tensor_get(c, cv.data(), 0, cv.size() * sizeof(float));

  // ggml_mul_mat(a, b)[j][i] = dot(row i of a, row j of b)
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i < n; ++i) {
      double want = 0;
      for (int k = 0; k < n; ++k) want += static_cast<double>(av[i * n + k]) * bv[j * n + k];
      if (!(std::fabs(cv[j * n + i] - want) < 1e-2)) return "the device computed a wrong matrix product";
    }
  }
  return "";
}

}  // namespace rerank
