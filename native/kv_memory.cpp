#include "kv_memory.h"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

#include "model_meta.h"

namespace rerank {
namespace {

constexpr uint64_t kCellPad = 256;  // llama.cpp's GGML_PAD of n_ctx and of each stream's share
uint64_t pad(uint64_t n) { return (n + kCellPad - 1) / kCellPad * kCellPad; }

// An integer of the model's metadata (a GGUF key), or 0 when it has none.
int64_t metaInt(const llama_model* model, const std::string& key) { return std::strtoll(metaString(model, key).c_str(), nullptr, 10); }

std::string size(uint64_t bytes) {
  char s[32];
  if (bytes >= (1ull << 30)) std::snprintf(s, sizeof s, "%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
  else std::snprintf(s, sizeof s, "%.0f MiB", static_cast<double>(bytes) / (1ull << 20));
  return s;
}

}  // namespace

uint64_t KvLayout::bytesOfLayers(int32_t layersInHost) const {
  return layers > 0 ? bytes() / static_cast<uint64_t>(layers) * static_cast<uint64_t>(layersInHost) : 0;
}

std::string KvLayout::describe() const {
  const std::string each = contexts > 1 ? std::to_string(contexts) + " contexts of " : "";
  return each + std::to_string(streams) + (streams == 1 ? " stream" : " streams") + " of " + std::to_string(cellsPerStream) + " cells, " +
         std::to_string(layers) + " layers, " + std::to_string(valuesPerCell) + " values a cell and layer, " +
         (bytesPerValue == 4 ? "f32" : "f16");
}

KvLayout kvLayoutOf(int32_t layers, uint64_t valuesPerCell, uint32_t nCtx, uint32_t streams, ggml_type type) {
  KvLayout kv;
  // llama_context pads n_ctx, then each stream's share of it (llama-context.cpp, n_ctx_seq)
  kv.streams = streams == 0 ? 1 : streams;
  kv.cellsPerStream = streams == 0 ? pad(nCtx) : pad(pad(nCtx) / streams);
  kv.layers = layers;
  kv.valuesPerCell = valuesPerCell;
  kv.bytesPerValue = type == GGML_TYPE_F32 ? 4 : 2;
  return kv;
}

KvLayout kvLayout(const llama_model* model, uint32_t nCtx, uint32_t streams, ggml_type type) {
  // Head sizes as llama.cpp reads them: <arch>.attention.key_length / value_length, else n_embd / n_head
  const std::string arch = metaString(model, "general.architecture");
  const int64_t heads = llama_model_n_head(model);
  const int64_t fallback = heads > 0 ? llama_model_n_embd(model) / heads : 0;
  int64_t k = metaInt(model, arch + ".attention.key_length");
  int64_t v = metaInt(model, arch + ".attention.value_length");
  if (k <= 0) k = fallback;
  if (v <= 0) v = fallback;
  return kvLayoutOf(llama_model_n_layer(model), static_cast<uint64_t>(llama_model_n_head_kv(model)) * static_cast<uint64_t>(k + v), nCtx,
                    streams, type);
}

uint32_t contextsThatFit(uint64_t freeBytes, uint64_t perContext, uint64_t reserveBytes, uint32_t wanted) {
  if (freeBytes <= reserveBytes) return 0;
  if (perContext == 0) return wanted;
  const uint64_t fit = (freeBytes - reserveBytes) / perContext;
  return fit < wanted ? static_cast<uint32_t>(fit) : wanted;
}

void checkHostMemory(const KvLayout& kv, int32_t layersInHost, uint64_t weightBytes, uint64_t availableBytes, bool streamsOption) {
  const uint64_t cache = kv.bytesOfLayers(layersInHost);
  // The weights are mapped from the file, but a decode reads every one of them: evicted, they would
  // be read from disk again at every call.
  const uint64_t weights = kv.layers > 0 ? weightBytes / static_cast<uint64_t>(kv.layers) * static_cast<uint64_t>(layersInHost) : 0;
  if (availableBytes == 0 || cache + weights <= availableBytes) return;
  std::string lower = "maxLength, batchSize";
  if (streamsOption) lower += ", kvStreams";
  if (kv.contexts > 1) lower += ", contexts";
  throw std::runtime_error("the KV cache needs " + size(cache) + " of memory (" + kv.describe() + ") and the weights " + size(weights) +
                           ", more than the " + size(availableBytes) + " available: lower " + lower +
                           (kv.bytesPerValue == 4 ? ", use kvType 'f16'" : "") + " or load onto a GPU");
}

}  // namespace rerank
