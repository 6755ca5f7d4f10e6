// A loaded Qwen3-Reranker: the model, its contexts (decode_lanes.h), score head and prompt. One
// call decodes at a time, on all the contexts (a llama_context is single-threaded); tokenizing runs
// beside it. The JS layer queues requests.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "hidden_capture.h"
#include "llama_handles.h"
#include "decode_lanes.h"
#include "decoder.h"
#include "prompt.h"
#include "score_head.h"
#include "tokenizer_info.h"

namespace rerank {

class CallDocuments;  // document_pairs.h

struct LoadOptions {
  std::string path;
  std::string gpu = "auto";  // auto | cpu | cuda | vulkan | metal
  int32_t gpuLayers = -1;    // -1: every layer on the GPU
  int32_t threads = 0;       // 0: one per hardware thread
  uint32_t maxLength = 8192; // the longest pair, in tokens
  uint32_t batchSize = 512;  // tokens per llama_decode
  uint32_t ubatchSize = 512; // tokens per compute graph
  uint32_t maxSequences = 64;
  std::string flashAttention = "auto";  // auto | on | off
  std::string kvType = "f16";           // f16 | f32: the KV cache's storage type
  // Pairs of the groups of one score() call share decode calls (fuller batches, what a GPU needs);
  // off: each group is decoded alone, so its scores do not depend on the others.
  bool pack = false;
  // Keep the instruction head in the cache from call to call (Decoder): in cells reserved for it on
  // the shared cache, in each KV stream's first cells; off when no request shares its prefix (the
  // sharePrefix load option), which saves those cells.
  bool keepHead = true;
  // > 0: a KV stream per pair, this many, each pair attending over its own cells only (StreamDecoder);
  // 0: one unified cache the pairs share (PairDecoder).
  uint32_t kvStreams = 0;
  // llama_contexts over the model that decode parts of a call at once (decode_lanes.h); each has a
  // cache of its own. 0: chosen here (kAutoContexts).
  uint32_t contexts = 1;
  // Keep the full decode calls of a run one shape (call_shape.h), so that llama.cpp reuses their
  // compute graph and ggml-cuda replays it; with the shared cache and one graph per call only.
  bool reuseGraphs = false;
  // With a GPU backend: the devices to load onto by name (those that passed their probe); empty: all of it
  std::vector<std::string> devices;
  // Memory the process may still use, in bytes (0: unknown): the KV cache's share in host memory
  // must fit it (kv_memory.h), and weights: 'auto' converts only what fits half of it.
  uint64_t hostMemoryBytes = 0;
  // stored: the file's weights as they are; auto: a Q8_0 file's converted to BF16 at load, in memory,
  // when every layer goes to CUDA and they fit (weights_at_load.h); bf16: converted whatever the
  // backend (Linux), for tests and benchmarks.
  std::string weights = "stored";
  // Packed: a large call's first pairs, one decode call's worth per context (on KV streams one
  // wave), decode while its other documents tokenize. auto: with every layer on a GPU; on | off.
  std::string tokenizeAhead = "auto";
};

struct Group {
  uint32_t id = 0;  // the caller's name for it, for cancel()
  std::string instruction;
  std::string query;
  std::vector<std::string> documents;
  uint32_t maxLength = 8192;
  bool truncate = true;
  bool sharePrefix = true;
  uint32_t maxChunks = 1;      // > 1: a long document is scored in overlapping windows, best one wins
  uint32_t chunkOverlap = 80;  // tokens each window repeats from the one before
  // > 0: score documents from the first while their pairs stay within this many tokens (always at
  // least one); the caller sends the rest again. Bounds how long one call holds the model.
  uint64_t tokenBudget = 0;
  std::shared_ptr<std::atomic<bool>> cancelled;  // set by Reranker::cancel
};

struct GroupResult {
  uint32_t completed = 0;  // documents scored, from the first (see Group::tokenBudget)
  std::vector<float> scores;
  std::vector<uint32_t> pairTokens;  // tokens evaluated for each document (all its windows)
  std::vector<uint32_t> chunks;      // windows each document was scored in
  std::vector<uint8_t> truncated;
  uint64_t computedTokens = 0;
  // A failure of this group alone (a pair too long with truncation off, a failed decode).
  std::string error;
  std::string errorCode;
  int32_t errorIndex = -1;
};

struct CallResult {
  std::vector<GroupResult> groups;
  uint64_t decodeCalls = 0;
  double decodeMs = 0;
  uint64_t graphsReused = 0;
  uint64_t pairsAhead = 0;  // pairs decoded while the rest of the call's documents tokenized
};

struct ModelInfo {
  std::string kind;     // "rank" | "causal"
  std::string backend;  // the backend holding the layers: "CPU", "CUDA", "Vulkan", "Metal"...
  std::vector<std::string> devices;
  std::string description;
  TokenizerInfo tokenizer;
  uint64_t parameters = 0;
  uint64_t sizeBytes = 0;
  int32_t layers = 0;
  int32_t gpuLayers = 0;
  int32_t embeddingLength = 0;
  int32_t trainContext = 0;
  int32_t threads = 0;
  uint32_t contextSize = 0;
  uint32_t batchSize = 0;
  uint32_t ubatchSize = 0;
  uint32_t maxLength = 0;
  uint32_t maxSequences = 0;
  std::string flashAttention;
  std::string kvType;
  bool pack = false;
  uint32_t kvStreams = 0;
  uint32_t contexts = 1;
  bool reuseGraphs = false;  // in effect: asked for, and possible with this layout
  bool weightsConvertedAtLoad = false;  // decoding with BF16 weights made from the file at load
  std::string weightsConversionError;   // why weights: 'auto' loaded the file as stored after trying
  bool tokenizeAhead = false;  // in effect (LoadOptions::tokenizeAhead)
  uint64_t kvCacheBytes = 0;  // all the contexts' caches
  uint64_t kvCacheCpuBytes = 0;  // the share of the layers not offloaded to a GPU
};

class Reranker {
 public:
  // Throws std::runtime_error with the reason when the file cannot be used.
  static std::unique_ptr<Reranker> load(const LoadOptions& options);

  CallResult score(std::vector<Group>& groups);
  // Cancellation, from any thread: a group registered with watch() and then cancelled stops at the
  // next decode call (its result: errorCode "ABORTED"). abortAll() stops the running call too.
  std::shared_ptr<std::atomic<bool>> watch(uint32_t id);
  void unwatch(uint32_t id);
  void cancel(uint32_t id);
  void abortAll();
  // Raw tokenization with this model's vocabulary (no prompt around it); with maxTokens, the first
  // that many tokens, tokenizing only as much of the text as they need.
  std::vector<llama_token> tokenize(const std::string& text, bool parseSpecial, size_t maxTokens = SIZE_MAX) const;
  // The text of the first maxTokens tokens (Prompt::firstTokensText); nullopt when that is all of it.
  std::optional<std::string> firstTokensText(const std::string& text, size_t maxTokens) const {
    return prompt_->firstTokensText(text, maxTokens);
  }
  const ModelInfo& info() const { return info_; }

 private:
  Reranker() = default;
  // An empty set of `group`'s settings.
  PairSet pairSet(const Group& group) const;
  // How the contexts' decoders fill their calls, for cutting a call into parts.
  CallRoom callRoom() const { return {info_.batchSize, info_.kvStreams}; }
  // Tokenizes the call's first documents and gives, per group, the pairs of them that the contexts
  // decode in one call each; none when no document is left to tokenize while they decode.
  std::vector<PairSet> firstRound(CallDocuments& documents, const std::vector<Group>& groups) const;
  // KV cells for the instruction head the decoder keeps from call to call (PairDecoder): the
  // default instruction's takes 60 tokens, and a few sentences more fit.
  static constexpr uint32_t kHeadReserve = 256;
  // The most contexts a model may have (LoadOptions::contexts): a bound on memory, far above the few
  // that overlap one GPU's host work with its kernels.
  static constexpr uint32_t kMaxContexts = 8;
  // Contexts by default with every layer on CUDA GPUs, as many of them as fit with room to spare:
  // on an H200, 3 contexts took 0.71× the time of one on G100 and were faster than 2 on every
  // workload (bench/results/2026-11-29-cuda-contexts.md). Other backends: 1, not measured.
  static constexpr uint32_t kAutoContexts = 3;
  // Device memory a context beyond the first must leave free: ggml's CUDA pool grows during decodes.
  static constexpr uint64_t kContextReserveBytes = 1ull << 30;
  // Threads that tokenize a call's documents (document_pairs.h): at most the decode's (a user who
  // limits those leaves the rest of the machine to others). With a layer on the CPU at most 8, leaving
  // cores to a CPU decode running meanwhile; with every layer on a GPU up to 16, the decode leaving the
  // cores idle: on 8 of the H200 host's 16, one G100 request (166 KiB of documents) spent 30.7 ms
  // outside decoding, most of it tokenizing (README "On a GPU"). Starting a thread costs tens of µs.
  static constexpr int32_t kTokenizeThreads = 8;
  static constexpr int32_t kTokenizeThreadsGpu = 16;
  unsigned tokenizeThreads_ = 1;

  ModelPtr model_;  // declared first: freed after the contexts over it
  ScoreHead head_;
  std::unique_ptr<Prompt> prompt_;
  uint32_t headReserve_ = 0;  // 0: no head is kept (keepHead off)
  std::vector<Lane> lanes_;
  ModelInfo info_;
  std::mutex mutex_;  // one score() decodes at a time (tokenizing runs outside it)
  std::atomic<uint64_t> calls_{0};  // score()'s calls so far: a call's number links its two runs (RunLink)
  std::mutex watchMutex_;
  std::map<uint32_t, std::shared_ptr<std::atomic<bool>>> watched_;
};

}  // namespace rerank
