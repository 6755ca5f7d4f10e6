#include "reranker.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <future>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <system_error>
#include <thread>

#include "backend.h"
#include "document_pairs.h"
#include "kv_memory.h"
#include "layer_placement.h"
#include "model_check.h"
#include "pair_decoder.h"
#include "stream_decoder.h"
#include "weights_at_load.h"

namespace rerank {
namespace {

llama_flash_attn_type flashAttnType(const std::string& v) {
  if (v == "on") return LLAMA_FLASH_ATTN_TYPE_ENABLED;
  if (v == "off") return LLAMA_FLASH_ATTN_TYPE_DISABLED;
  return LLAMA_FLASH_ATTN_TYPE_AUTO;
}

// Each device's free memory, in bytes.
std::vector<uint64_t> freeMemory(const std::vector<ggml_backend_dev_t>& devices) {
  std::vector<uint64_t> out;
  for (ggml_backend_dev_t d : devices) {
    size_t free = 0, total = 0;
    ggml_backend_dev_memory(d, &free, &total);
    out.push_back(free);
  }
  return out;
}

// The cells of a context's cache, from the load options alone.
struct CacheCells {
  uint32_t batch = 0;
  uint32_t streams = 0;        // 0: one unified cache
  uint32_t prefixReserve = 0;  // unified: the packed groups' prefixes
  uint32_t headReserve = 0;    // the kept instruction head's most tokens
  uint32_t nCtx = 0;
};

CacheCells cacheCells(const LoadOptions& o, uint32_t headReserve) {
  CacheCells c;
  c.batch = std::max<uint32_t>(o.batchSize, 32);
  // llama.cpp reserves an output row per sequence and asserts that they fit one batch.
  c.streams = std::min<uint32_t>(o.kvStreams, std::min<uint32_t>(256, c.batch));
  c.headReserve = o.keepHead ? headReserve : 0;
  if (c.streams == 0) {
    // One unified cache, the pairs sharing the prefix cells of their request: room for the longest
    // pair plus one full batch of other pairs, when groups are packed together for the prefixes of
    // those decoded at once, and for the instruction head kept from call to call, with a sequence
    // of its own (see PairDecoder).
    c.prefixReserve = o.pack ? std::min<uint32_t>(c.batch, 1024) : 0;
    c.nCtx = o.maxLength + c.batch + c.prefixReserve + c.headReserve;
  } else {
    // A stream per pair (see StreamDecoder): each holds the longest pair and a call's padding (a
    // wave of two streams or more pads under batch/2 a stream). The kept head is the first cells of
    // the pairs that begin with it: no more cells.
    c.nCtx = c.streams * (o.maxLength + c.batch / 2);
  }
  return c;
}

// weights: 'auto': whether this load converts the file to BF16 (weights_at_load.h). `gpus`: the
// devices the layers go to, for a GPU backend named in the options; `contextReserve`: what a
// context's compute buffers may take beyond its cache.
bool autoConverts(const LoadOptions& o, const std::vector<ggml_backend_dev_t>& gpus, const CacheCells& cells, uint64_t contextReserve) {
  AutoWeightsFacts facts;
  facts.inMemoryFiles = WeightsInMemory::supported();
  facts.discreteCudaDevices = o.gpu == "cuda" && !gpus.empty() && std::all_of(gpus.begin(), gpus.end(), [](ggml_backend_dev_t d) {
    return ggml_backend_dev_type(d) == GGML_BACKEND_DEVICE_TYPE_GPU;
  });
  if (!facts.inMemoryFiles || !facts.discreteCudaDevices) return false;
  const ConvertibleFile file = describeForConversion(o.path);
  facts.gpuLayers = o.gpuLayers;
  facts.layers = file.layers;
  facts.qwen3 = file.architecture == "qwen3";
  facts.fileType = file.fileType;
  facts.convertedBytes = file.bf16Bytes;
  const ggml_type kvType = o.kvType == "f32" ? GGML_TYPE_F32 : GGML_TYPE_F16;
  facts.contextBytes = kvLayoutOf(static_cast<int32_t>(file.layers), file.kvValuesPerCell, cells.nCtx, cells.streams, kvType).bytes() + contextReserve;
  const std::vector<uint64_t> free = freeMemory(gpus);
  facts.deviceFreeBytes = std::accumulate(free.begin(), free.end(), uint64_t{0});
  facts.hostMemoryBytes = o.hostMemoryBytes;
  return convertsAtLoad(facts);
}

std::runtime_error loadError(const std::string& what) {
  const std::string why = takeLastLlamaError();
  return std::runtime_error(why.empty() ? what : what + ": " + why);
}

// The model as the load option weights has it: converted to BF16 in memory first (weights:
// 'bf16', or 'auto' when autoConverts), else the file as stored.
struct LoadedModel {
  ModelPtr model;
  ScoreHead head;
  bool convertedAtLoad = false;
  std::string conversionError;  // why 'auto' loaded the file as stored after trying
};

LoadedModel loadModelFile(const LoadOptions& o, const llama_model_params& mp, const std::vector<ggml_backend_dev_t>& gpus,
                          const CacheCells& cells, uint64_t contextReserve, int32_t threads) {
  LoadedModel out;
  bool convert = o.weights == "bf16";
  if (o.weights == "auto") {
    try {
      convert = autoConverts(o, gpus, cells, contextReserve);
    } catch (const std::exception& e) {
      out.conversionError = e.what();  // loaded as stored, below
    }
  }
  std::unique_ptr<WeightsInMemory> converted;
  if (convert) {
    try {
      converted = WeightsInMemory::convert(o.path, threads);
      llama_model_params inMemory = mp;
      // Read, not mapped: a mapping would keep the in-memory file alive as long as the model. The
      // tensors llama.cpp keeps on the CPU go to a plain buffer, as a mapped file's do (the layout
      // the BF16 copy was measured in), not to the GPU's pinned host memory.
      inMemory.load_mode = LLAMA_LOAD_MODE_NONE;
      inMemory.no_host = true;
      clearLastLlamaError();
      out.model.reset(llama_model_load_from_file(converted->path().c_str(), inMemory));
      if (!out.model) throw loadError("failed to load the BF16 conversion of " + o.path);
    } catch (const std::exception& e) {
      converted.reset();
      // 'auto' is a speed-up, not what the user asked for: the file still loads, as stored.
      if (o.weights != "auto") throw;
      out.conversionError = e.what();
    }
  }
  if (out.model) {
    // Not a reason to fall back: the stored file would be refused alike.
    out.head = ScoreHead::detect(out.model.get(), converted->path());  // its head rounded as the copy's
    out.convertedAtLoad = true;
    return out;
  }
  clearLastLlamaError();
  out.model.reset(llama_model_load_from_file(o.path.c_str(), mp));
  if (!out.model) throw loadError("failed to load " + o.path);
  out.head = ScoreHead::detect(out.model.get(), o.path);
  return out;
}

}  // namespace

std::unique_ptr<Reranker> Reranker::load(const LoadOptions& o) {
  ensureBackend();
  clearLastLlamaError();
  std::unique_ptr<Reranker> r(new Reranker());

  // The device list stays alive until the model is loaded; llama.cpp copies it.
  std::vector<ggml_backend_dev_t> devices;
  std::vector<ggml_backend_dev_t> gpus;  // a GPU backend's named in the options
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = o.gpuLayers < 0 ? 999 : o.gpuLayers;
  if (o.gpu == "cpu") {
    devices.push_back(nullptr);
    mp.devices = devices.data();
    mp.n_gpu_layers = 0;
  } else if (o.gpu != "auto") {
    gpus = o.devices.empty() ? gpuDevicesOf(o.gpu) : gpuDevicesNamed(o.gpu, o.devices);
    if (gpus.empty()) throw std::runtime_error("no " + o.gpu + " device found");
    devices = gpus;
    devices.push_back(nullptr);
    mp.devices = devices.data();
  }
  checkModelFile(o.path);
  if (o.weights != "stored" && o.weights != "auto" && o.weights != "bf16") {
    throw std::runtime_error("weights must be stored, auto or bf16, not " + o.weights);
  }
  if (o.tokenizeAhead != "auto" && o.tokenizeAhead != "on" && o.tokenizeAhead != "off") {
    throw std::runtime_error("tokenizeAhead must be auto, on or off, not " + o.tokenizeAhead);
  }
  const int32_t threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  const CacheCells cells = cacheCells(o, kHeadReserve);
  LoadedModel loaded = loadModelFile(o, mp, gpus, cells, kContextReserveBytes, threads);
  r->model_ = std::move(loaded.model);
  r->head_ = loaded.head;

  const LayerPlacement placed = placeLayers(r->model_.get(), mp);
  const int32_t layers = llama_model_n_layer(r->model_.get());

  // 0: automatic, several only with every layer on CUDA devices (then as many as fit, below)
  const bool allOnCuda = placed.layersOnCpu == 0 && !placed.integrated && !placed.devices.empty() &&
                         std::string(ggml_backend_reg_name(ggml_backend_dev_backend_reg(placed.devices[0]))) == "CUDA";
  const bool autoContexts = o.contexts == 0;
  uint32_t contexts = autoContexts ? (allOnCuda ? kAutoContexts : 1) : std::clamp<uint32_t>(o.contexts, 1, kMaxContexts);
  const bool allOnGpu = placed.layersOnCpu == 0 && !placed.devices.empty();
  r->tokenizeThreads_ = static_cast<unsigned>(std::min(threads, allOnGpu ? kTokenizeThreadsGpu : kTokenizeThreads));
  const uint32_t batch = cells.batch;
  const uint32_t streams = cells.streams;
  const uint32_t prefixReserve = cells.prefixReserve;
  llama_context_params cp = llama_context_default_params();
  cp.n_batch = batch;
  cp.n_ctx = cells.nCtx;
  r->headReserve_ = cells.headReserve;
  if (streams == 0) {
    cp.kv_unified = true;
    cp.n_ubatch = std::min(batch, std::max<uint32_t>(o.ubatchSize, 32));
    cp.n_seq_max = std::clamp<uint32_t>(o.maxSequences, 3, std::min<uint32_t>(256, batch));
  } else {
    // A stream per pair (see StreamDecoder). A call of a wave is one graph: llama.cpp splits a batch
    // over several streams into equal parts per stream only, so a smaller graph would cut it into
    // more, smaller ones.
    cp.kv_unified = false;
    cp.n_ubatch = batch;
    cp.n_seq_max = streams;
  }
  // A call's graph is reused as a whole only when it is one micro-batch (CallShape).
  const bool steadyCalls = o.reuseGraphs && streams == 0 && cp.n_ubatch == cp.n_batch;
  // Contexts decoding side by side share the threads (scoreOnLanes sets each call's share).
  cp.n_threads = threads;
  cp.n_threads_batch = threads;
  cp.embeddings = false;  // logits mode: only each pair's last token is an output
  cp.flash_attn_type = flashAttnType(o.flashAttention);
  cp.no_perf = true;
  cp.type_k = cp.type_v = o.kvType == "f32" ? GGML_TYPE_F32 : GGML_TYPE_F16;
  // The cells and weights of layers on the CPU, or on an integrated GPU, are in host memory.
  KvLayout kv = kvLayout(r->model_.get(), cp.n_ctx, streams, cp.type_k);
  kv.contexts = contexts;
  checkHostMemory(kv, placed.integrated ? layers : placed.layersOnCpu, llama_model_size(r->model_.get()), o.hostMemoryBytes,
                  streams > 0);
  const auto addLane = [&] {
    Lane& lane = r->lanes_.emplace_back();
    lane.capture = std::make_unique<HiddenCapture>();
    if (r->head_.needsHiddenState()) {
      cp.cb_eval = &HiddenCapture::onEval;
      cp.cb_eval_user_data = lane.capture.get();
    }
    clearLastLlamaError();
    lane.ctx.reset(llama_init_from_model(r->model_.get(), cp));
    if (!lane.ctx) throw loadError("failed to create a context for " + o.path);
    llama_context* ctx = lane.ctx.get();
    if (streams > 0) {
      lane.decoder = std::make_unique<StreamDecoder>(ctx, r->head_, *lane.capture, static_cast<int32_t>(cp.n_batch),
                                                     static_cast<int32_t>(streams), llama_n_ctx(ctx) / streams, r->headReserve_);
    } else {
      lane.decoder = std::make_unique<PairDecoder>(ctx, r->head_, *lane.capture, static_cast<int32_t>(cp.n_batch),
                                                   static_cast<int32_t>(cp.n_seq_max), llama_n_ctx(ctx), prefixReserve, r->headReserve_,
                                                   steadyCalls);
    }
  };
  r->lanes_.reserve(contexts);
  // Automatic: what the first context took of each device's memory tells how many more fit.
  const bool fitContexts = autoContexts && contexts > 1;
  const std::vector<uint64_t> freeBefore = fitContexts ? freeMemory(placed.devices) : std::vector<uint64_t>{};
  addLane();
  if (fitContexts) {
    const std::vector<uint64_t> freeAfter = freeMemory(placed.devices);
    uint32_t more = contexts - 1;
    for (size_t d = 0; d < freeAfter.size(); ++d) {
      const uint64_t perContext = freeBefore[d] > freeAfter[d] ? freeBefore[d] - freeAfter[d] : 0;
      more = contextsThatFit(freeAfter[d], perContext, kContextReserveBytes, more);
    }
    contexts = 1 + more;
    kv.contexts = contexts;
  }
  while (r->lanes_.size() < contexts) addLane();
  r->prompt_ = std::make_unique<Prompt>(llama_model_get_vocab(r->model_.get()));

  ModelInfo& info = r->info_;
  char desc[256] = {0};
  llama_model_desc(r->model_.get(), desc, sizeof desc);
  info.kind = r->head_.kindName();
  info.description = desc;
  info.tokenizer = describeTokenizer(r->model_.get());
  info.parameters = llama_model_n_params(r->model_.get());
  info.sizeBytes = llama_model_size(r->model_.get());
  info.layers = layers;
  info.embeddingLength = llama_model_n_embd(r->model_.get());
  info.trainContext = llama_model_n_ctx_train(r->model_.get());
  info.threads = threads;
  info.contextSize = llama_n_ctx(r->lanes_[0].ctx.get());
  info.batchSize = cp.n_batch;
  info.ubatchSize = cp.n_ubatch;
  info.maxLength = o.maxLength;
  info.maxSequences = cp.n_seq_max;
  info.flashAttention = o.flashAttention;
  info.kvType = o.kvType;
  info.pack = o.pack;
  info.kvStreams = streams;
  info.contexts = contexts;
  info.reuseGraphs = steadyCalls;
  info.weightsConvertedAtLoad = loaded.convertedAtLoad;
  info.weightsConversionError = loaded.conversionError;
  // Packing, so that the first pairs may be any of the call's (firstRound() sizes them by the calls
  // of the cache's layout: CallRoom). auto: on a GPU, where the decode does not need the tokenizing
  // cores.
  info.tokenizeAhead = o.pack && (o.tokenizeAhead == "on" || (o.tokenizeAhead == "auto" && allOnGpu));
  info.kvCacheBytes = kv.bytes();
  info.kvCacheCpuBytes = kv.bytesOfLayers(placed.layersOnCpu);
  info.backend = "CPU";
  info.gpuLayers = placed.gpuLayers;
  for (auto* d : placed.devices) info.devices.push_back(ggml_backend_dev_name(d));
  if (!placed.devices.empty() && info.gpuLayers > 0) {
    info.backend = ggml_backend_reg_name(ggml_backend_dev_backend_reg(placed.devices[0]));
  }
  return r;
}

PairSet Reranker::pairSet(const Group& group) const {
  PairSet set;
  set.sharePrefix = group.sharePrefix;
  set.cancelled = group.cancelled.get();
  if (set.sharePrefix && headReserve_ > 0) set.head = prompt_->instructionHead(group.instruction, headReserve_);
  return set;
}

std::vector<PairSet> Reranker::firstRound(CallDocuments& documents, const std::vector<Group>& groups) const {
  const size_t batch = info_.batchSize;
  // A round takes at most a call per lane, and on KV streams a pair a stream: the documents beyond
  // that tokenize with the rest, while the round decodes, not before it.
  documents.tokenizeFirst(static_cast<uint64_t>(lanes_.size()) * batch, firstRoundMostPairs(lanes_.size(), callRoom()), tokenizeThreads_);
  // Nothing to gain when no document is left to tokenize meanwhile (a call of about one round).
  if (documents.allTokenized()) return {};
  std::vector<PairSet> leadingSets;
  const CallDocuments::Leading leading = documents.leadingPairs();
  for (size_t g = 0; g < groups.size(); ++g) {
    leadingSets.push_back(pairSet(groups[g]));
    leadingSets.back().pairs = leading.pairs[g];
  }
  const size_t n = firstRoundPairs(leadingSets, leading.bytes, documents.bytesLeft(), lanes_.size(), callRoom());
  return n == 0 ? std::vector<PairSet>{} : firstPairs(leadingSets, n);
}

CallResult Reranker::score(std::vector<Group>& groups) {
  CallResult out;
  out.groups.resize(groups.size());
  const uint64_t call = ++calls_;
  CallDocuments documents(*prompt_, groups, info_.maxLength);
  // Packed: the call's first pairs, one decode call's worth per lane (on KV streams one wave),
  // decode while its other documents tokenize (on a GPU a large request waits for its tokens otherwise).
  std::vector<PairSet> first = info_.tokenizeAhead ? firstRound(documents, groups) : std::vector<PairSet>{};
  std::future<void> rest;
  if (!first.empty()) {
    // Fewer threads than alone: the lanes' threads prepare and launch their decode calls meanwhile.
    const unsigned threads = std::max<unsigned>(1, tokenizeThreads_ - std::min<unsigned>(tokenizeThreads_, static_cast<unsigned>(lanes_.size())));
    try {
      rest = std::async(std::launch::async, [&documents, threads] { documents.tokenizeRest(threads); });
    } catch (const std::system_error&) {
      first.clear();  // no thread to be had: tokenize the rest first
    }
  }
  if (!rest.valid()) documents.tokenizeRest(tokenizeThreads_);
  // Tokenizing needs only the vocabulary, so calls tokenize side by side; the contexts are one
  // call's at a time. A call whose documents take long to tokenize then holds up no other: one
  // whose rest is still tokenizing after its first round lets another call decode meanwhile.
  std::unique_lock<std::mutex> lock(mutex_);
  DecodeStats stats;
  // The round's KV streams keep their requests' prefixes for the rest (StreamDecoder), unless
  // another call decodes in between.
  if (!first.empty()) scoreOnLanes(lanes_, first, true, callRoom(), info_.threads, stats, RunLink{call, 0});
  if (rest.valid()) {
    if (rest.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      lock.unlock();
      // This thread is free until the rest is tokenized: it takes documents too (the rest started
      // on fewer threads, the lanes' threads being busy with the round then).
      documents.helpTokenizeRest();
      rest.wait();
      lock.lock();
    }
    rest.get();
  }
  std::vector<PreparedGroup> prepared = documents.assemble();
  std::vector<PairSet> sets;
  for (size_t g = 0; g < groups.size(); ++g) {
    out.groups[g] = std::move(prepared[g].result);
    PairSet& set = sets.emplace_back(pairSet(groups[g]));
    set.error = out.groups[g].error;
    // A group whose first pairs failed or were cancelled decodes no more.
    const size_t done = first.empty() ? 0 : first[g].pairs.size();
    if (set.error.empty() && !first.empty()) {
      set.error = first[g].error;
      set.aborted = first[g].aborted;
    }
    if (set.error.empty()) {
      for (size_t k = done; k < prepared[g].pairs.size(); ++k) set.pairs.push_back(&prepared[g].pairs[k].tokens);
    }
  }
  scoreOnLanes(lanes_, sets, info_.pack, callRoom(), info_.threads, stats, RunLink{0, first.empty() ? 0 : call});
  out.decodeCalls = stats.decodeCalls;
  out.graphsReused = stats.graphsReused;
  out.decodeMs = stats.decodeMs;
  for (size_t g = 0; g < first.size(); ++g) {
    out.pairsAhead += first[g].pairs.size();
    sets[g].computedTokens += first[g].computedTokens;
    sets[g].scores.insert(sets[g].scores.begin(), first[g].scores.begin(), first[g].scores.end());
  }

  for (size_t g = 0; g < groups.size(); ++g) {
    GroupResult& res = out.groups[g];
    const PairSet& set = sets[g];
    res.computedTokens = set.computedTokens;
    if (!res.error.empty()) continue;
    if (!set.error.empty()) {
      res.error = set.aborted ? "the request was cancelled" : set.error;
      res.errorCode = set.aborted ? "ABORTED" : "DECODE_FAILED";
      continue;
    }
    // A document's score is its best window's; NaN propagates so the check below sees it.
    res.scores.assign(res.completed, 0.0f);
    std::vector<bool> seen(res.completed, false);
    for (size_t k = 0; k < set.scores.size(); ++k) {
      const size_t doc = prepared[g].owner[k];
      const float s = set.scores[k];
      float& best = res.scores[doc];
      best = !seen[doc] || s > best || std::isnan(s) ? s : best;
      seen[doc] = true;
    }
    for (size_t i = 0; i < res.scores.size(); ++i) {
      if (!std::isfinite(res.scores[i])) {
        res.error = "document " + std::to_string(i) + " got a non-finite score: the model's weights or parameters are broken";
        res.errorCode = "DECODE_FAILED";
        res.errorIndex = static_cast<int32_t>(i);
        break;
      }
    }
  }
  return out;
}

std::shared_ptr<std::atomic<bool>> Reranker::watch(uint32_t id) {
  std::lock_guard<std::mutex> lock(watchMutex_);
  auto& flag = watched_[id];
  if (!flag) flag = std::make_shared<std::atomic<bool>>(false);
  return flag;
}

void Reranker::unwatch(uint32_t id) {
  std::lock_guard<std::mutex> lock(watchMutex_);
  watched_.erase(id);
}

void Reranker::cancel(uint32_t id) {
  std::lock_guard<std::mutex> lock(watchMutex_);
  auto it = watched_.find(id);
  if (it != watched_.end()) it->second->store(true);
}

std::vector<llama_token> Reranker::tokenize(const std::string& text, bool parseSpecial, size_t maxTokens) const {
  if (maxTokens == SIZE_MAX) return prompt_->tokenize(text, parseSpecial);
  return prompt_->front("", text, maxTokens, parseSpecial).tokens;
}

void Reranker::abortAll() {
  {
    std::lock_guard<std::mutex> lock(watchMutex_);
    for (auto& [id, flag] : watched_) flag->store(true);
  }
  for (Lane& lane : lanes_) lane.decoder->abortAll();
}

}  // namespace rerank
