// The native core without Node, for AddressSanitizer/LeakSanitizer (npm run test:asan): loads the
// tiny model, scores groups that take every path (shared prefix, pairs spanning decode calls,
// truncation, a refused pair, a query too long, the instruction head kept from call to call,
// bounded tokenization, a text cut to its first tokens), frees everything, and does it again.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <unistd.h>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "backend.h"
#include "decode_lanes.h"
#include "document_pairs.h"
#include "kv_memory.h"
#include "llama_handles.h"
#include "prompt.h"
#include "reranker.h"
#include "score_head.h"
#include "stream_decoder.h"
#include "wave_plan.h"
#include "model_quantize.h"
#include "weights_at_load.h"

using rerank::Group;
using rerank::LoadOptions;
using rerank::Reranker;

// A request's group with the default instruction (the model card's), as a search query asks.
static Group searchGroup(std::string query, uint32_t maxLength) {
  Group g;
  g.instruction = "Given a web search query, retrieve relevant passages that answer the query";
  g.query = std::move(query);
  g.maxLength = maxLength;
  return g;
}

static int check(bool ok, const char* what) {
  if (!ok) std::fprintf(stderr, "FAILED: %s\n", what);
  return ok ? 0 : 1;
}

// ggml's own logging entry (exported by ggml-base; its header is internal to ggml).
extern "C" void ggml_log_internal(enum ggml_log_level level, const char* format, ...);

// The error text a failed call explains itself with: continuation lines of an error kept, an
// INFO message's continuation not, nothing left over after a clear.
static int checkErrorText() {
  int failures = 0;
  rerank::clearLastLlamaError();
  ggml_log_internal(GGML_LOG_LEVEL_ERROR, "selftest: device fault\n");
  ggml_log_internal(GGML_LOG_LEVEL_CONT, "  address fault 0\n");
  ggml_log_internal(GGML_LOG_LEVEL_INFO, "selftest: loading");
  ggml_log_internal(GGML_LOG_LEVEL_CONT, "...");
  const std::string text = rerank::takeLastLlamaError();
  failures += check(text == "selftest: device fault\n  address fault 0", "an error's continuation lines kept, INFO's not");
  ggml_log_internal(GGML_LOG_LEVEL_ERROR, "selftest: stale\n");
  rerank::clearLastLlamaError();
  failures += check(rerank::takeLastLlamaError().empty(), "nothing stale after a clear");
  return failures;
}

// The model on the CPU, two threads.
static LoadOptions cpuOptions(const char* path, uint32_t maxLength, uint32_t batchSize) {
  LoadOptions o;
  o.path = path;
  o.gpu = "cpu";
  o.threads = 2;
  o.maxLength = maxLength;
  o.batchSize = batchSize;
  return o;
}

// What tokenizing threads may skip: only documents one-by-one tokenizing would not reach, judged by
// the documents before them, whatever finished after them first.
static int checkDocumentProgress() {
  int failures = 0;
  rerank::DocumentProgress budget(8, 100);
  budget.finished(3, 90, false);
  budget.finished(4, 90, false);  // documents 0-2 still running
  failures += check(!budget.beyondReach(0) && !budget.beyondReach(1) && !budget.beyondReach(3) && !budget.beyondReach(4),
                    "later documents' tokens do not skip earlier ones");
  failures += check(budget.beyondReach(5) && budget.beyondReach(7), "documents before that spend the budget");
  rerank::DocumentProgress failed(8, 0);
  failed.finished(5, 0, true);
  failed.finished(2, 40, false);
  failures += check(!failed.beyondReach(0) && !failed.beyondReach(4) && !failed.beyondReach(5), "a later failure skips no earlier document");
  failures += check(failed.beyondReach(6), "a failure before");
  failed.finished(3, 0, true);
  failures += check(failed.beyondReach(4) && !failed.beyondReach(3), "the first failure counts");
  return failures;
}

// How a call's pairs are cut for the contexts (decode_lanes.h): every pair once and in order, no
// more parts than lanes nor than batches of tokens, a set cut on its own when not packed, and parts
// of about equal tokens.
static int checkPlanParts() {
  int failures = 0;
  std::vector<std::vector<llama_token>> tokens;
  for (int i = 0; i < 40; ++i) tokens.push_back(std::vector<llama_token>(20 + (i * 37) % 90, i % 5 == 0 ? 1 : 2));
  for (auto& t : tokens) t[0] = 7;  // the pairs of a set share their first token
  std::vector<rerank::PairSet> sets(4);
  for (int i = 0; i < 40; ++i) sets[i < 25 ? 0 : i < 26 ? 1 : i < 33 ? 2 : 3].pairs.push_back(&tokens[i]);
  sets[2].error = "refused";  // not decoded: in no part
  auto covers = [&](const std::vector<rerank::Part>& parts) {
    std::vector<std::pair<size_t, size_t>> seen;
    for (const auto& part : parts) {
      for (const auto& span : part) {
        for (size_t p = span.begin; p < span.end; ++p) seen.emplace_back(span.set, p);
      }
    }
    std::vector<std::pair<size_t, size_t>> want;
    for (size_t s = 0; s < sets.size(); ++s) {
      if (sets[s].error.empty()) {
        for (size_t p = 0; p < sets[s].pairs.size(); ++p) want.emplace_back(s, p);
      }
    }
    return seen == want;
  };
  auto tokensOf = [&](const rerank::Part& part) {
    size_t n = 0;
    for (const auto& span : part) {
      for (size_t p = span.begin; p < span.end; ++p) n += sets[span.set].pairs[p]->size();
    }
    return n;
  };
  const auto packed = rerank::planParts(sets, true, 3, {256});
  failures += check(packed.size() == 3 && covers(packed), "packed: three parts with every pair once, in order");
  const size_t a = tokensOf(packed[0]), b = tokensOf(packed[1]), c = tokensOf(packed[2]);
  failures += check(std::max({a, b, c}) - std::min({a, b, c}) < 2 * 110, "packed: parts of about equal tokens");
  size_t total = 0;
  for (const auto& part : packed) total += tokensOf(part);
  // the shared first token of a set's pairs counts once, so the parts' cost is a little under `total`
  const size_t batch = total / 2 + 50;  // the tokens need 2 calls of it, but not 2 full ones
  failures += check(rerank::planParts(sets, true, 8, {batch}).size() == 2, "no more parts than the calls the tokens need");
  failures += check(rerank::planParts(sets, true, 8, {total / 3 + 200}).size() == 3,
                    "a part for each call the tokens need, the last not full (not one full part and a small one)");
  failures += check(rerank::planParts(sets, true, 2, {1 << 20}).size() == 1, "a call under a batch is not cut");

  // A set whose pairs begin with the instruction's head, which a lane keeps: 4 pairs of the 30-token
  // head and 10 tokens of their own cost 40 tokens to decode, not 70 (the head counted once).
  std::vector<std::vector<llama_token>> headed(4, std::vector<llama_token>(30, 5));
  for (size_t i = 0; i < headed.size(); ++i) headed[i].insert(headed[i].end(), 10, static_cast<llama_token>(100 + i));
  std::vector<rerank::PairSet> withHead(1);
  withHead[0].head.assign(30, 5);
  for (auto& t : headed) withHead[0].pairs.push_back(&t);
  failures += check(rerank::planParts(withHead, true, 2, {64}).size() == 1, "the kept head costs nothing: 40 tokens in one call");
  failures += check(rerank::planParts(withHead, true, 2, {32}).size() == 2, "40 tokens in two parts at 32-token calls");
  // Parts that decode a long request prefix again: 4 pairs of a 20-token prefix and 30 tokens of their
  // own cost 140; at 64-token calls a part of 47 tokens and the prefix again would take two calls.
  std::vector<std::vector<llama_token>> prefixed(4, std::vector<llama_token>(20, 6));
  for (size_t i = 0; i < prefixed.size(); ++i) prefixed[i].insert(prefixed[i].end(), 30, static_cast<llama_token>(200 + i));
  std::vector<rerank::PairSet> longPrefix(1);
  for (auto& t : prefixed) longPrefix[0].pairs.push_back(&t);
  failures += check(rerank::planParts(longPrefix, true, 8, {64}).size() == 4, "parts counted with the prefix they decode again");
  const auto alone = rerank::planParts(sets, false, 2, {256});
  bool ownSet = covers(alone);
  for (const auto& part : alone) ownSet = ownSet && part.size() == 1;
  // set 0 (25 pairs) and set 3 (7 pairs, 458 tokens to decode: two calls of 256) in two parts each,
  // set 1 (one pair) in one
  failures += check(ownSet && alone.size() == 5, "not packed: each set cut on its own");
  return failures;
}

// weights: 'auto' converts a Q8_0 file with every layer on discrete CUDA devices when the BF16
// weights fit half of the devices' free memory and half of the host's; the size it judges by is the
// BF16 file's, and a model converted in memory loads and scores (under ASan: no leak, no overrun).
static int checkWeightsAtLoad(const char* path) {
  int failures = 0;
  rerank::AutoWeightsFacts f;
  f.inMemoryFiles = true;
  f.discreteCudaDevices = true;
  f.gpuLayers = -1;
  f.layers = 28;
  f.qwen3 = true;
  f.fileType = LLAMA_FTYPE_MOSTLY_Q8_0;
  f.convertedBytes = 1000;
  f.contextBytes = 1000;
  f.deviceFreeBytes = 2000;
  f.hostMemoryBytes = 0;
  failures += check(rerank::convertsAtLoad(f), "auto weights: a Q8_0 file on CUDA that fits is converted");
  auto with = [&](auto change) {
    rerank::AutoWeightsFacts g = f;
    change(g);
    return rerank::convertsAtLoad(g);
  };
  failures += check(!with([](auto& g) { g.deviceFreeBytes = 1999; }), "auto weights: over half the free GPU memory: not converted");
  failures += check(!with([](auto& g) { g.contextBytes = 1001; }), "auto weights: no room left for a context: not converted");
  failures += check(!with([](auto& g) { g.qwen3 = false; }), "auto weights: another architecture: not converted");
  failures += check(with([](auto& g) { g.hostMemoryBytes = 2000; }), "auto weights: half the host memory: converted");
  failures += check(!with([](auto& g) { g.hostMemoryBytes = 1999; }), "auto weights: over half the host memory: not converted");
  failures += check(!with([](auto& g) { g.discreteCudaDevices = false; }), "auto weights: not on discrete CUDA devices: not converted");
  failures += check(!with([](auto& g) { g.gpuLayers = 28; }), "auto weights: the output layer on the CPU: not converted");
  failures += check(with([](auto& g) { g.gpuLayers = 29; }), "auto weights: every layer and the output one offloaded: converted");
  failures += check(!with([](auto& g) { g.inMemoryFiles = false; }), "auto weights: no in-memory files: not converted");
  failures += check(!with([](auto& g) { g.fileType = LLAMA_FTYPE_MOSTLY_Q4_K_M; }), "auto weights: a Q4_K file: not converted");
  failures += check(!with([](auto& g) { g.fileType = LLAMA_FTYPE_MOSTLY_BF16; }), "auto weights: a BF16 file: not converted");

  // The estimate against the file the quantizer writes, from the tiny F32 model: within 1%.
  const rerank::ConvertibleFile file = rerank::describeForConversion(path);
  failures += check(file.architecture == "qwen3" && file.fileType == LLAMA_FTYPE_ALL_F32 && file.layers == 2,
                    "the tiny model's header: qwen3, F32, 2 blocks");
  const std::string copy = (std::filesystem::temp_directory_path() / ("rerank-selftest-bf16-" + std::to_string(getpid()) + ".gguf")).string();
  double written = 0;
  try {
    rerank::quantizeModelFile(path, copy, LLAMA_FTYPE_MOSTLY_BF16, 2);
    written = static_cast<double>(std::filesystem::file_size(copy));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
  }
  std::filesystem::remove(copy);
  const double estimated = static_cast<double>(file.bf16Bytes);
  // apart from the tensors' alignment padding and the keys the quantizer adds
  failures += check(written > 0 && std::abs(estimated - written) <= 4096, "the BF16 file's size as estimated, within 4 KiB");
  std::printf("BF16 copy of the tiny model: %.0f bytes written, %.0f estimated\n", written, estimated);

  LoadOptions o = cpuOptions(path, 256, 64);
  o.weights = "bf16";
  auto r = Reranker::load(o);
  // the cache the rule counts is the one the load makes
  const rerank::KvLayout kv = rerank::kvLayoutOf(static_cast<int32_t>(file.layers), file.kvValuesPerCell, r->info().contextSize, 0, GGML_TYPE_F16);
  failures += check(kv.bytes() == r->info().kvCacheBytes, "the cache's size from the header is the loaded context's");
  failures += check(r->info().weightsConvertedAtLoad && r->info().description.find("BF16") != std::string::npos,
                    "a model converted to BF16 at load");
  Group g = searchGroup("What is the capital of France?", 256);
  g.documents = {"Paris", "Berlin"};
  std::vector<Group> groups{g};
  const auto res = r->score(groups).groups;
  failures += check(res[0].error.empty() && res[0].scores.size() == 2, "a model converted at load scores");
  o.weights = "f16";
  bool refused = false;
  try {
    Reranker::load(o);
  } catch (const std::runtime_error&) {
    refused = true;
  }
  failures += check(refused, "a weights value the native load does not know is refused");
  return failures;
}

// The first round of a call tokenized ahead (decode_lanes.h firstRoundPairs): pairs that fill one
// call per lane, and none when the round would cost the call a decode call more.
static int checkFirstRound() {
  int failures = 0;
  // 40 pairs of a 20-token prefix and 80 tokens of their own, of 400 bytes of text each: 80 cost
  // each, the first 100 (its prefix).
  std::vector<std::vector<llama_token>> tokens(40, std::vector<llama_token>(20, 7));
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i].insert(tokens[i].end(), 80, static_cast<llama_token>(300 + i));
  std::vector<rerank::PairSet> sets(1);
  for (auto& t : tokens) sets[0].pairs.push_back(&t);
  const uint64_t perPair = 400;
  auto partTokens = [&](size_t n, size_t lanes, size_t batch) {
    std::vector<rerank::PairSet> first(1);
    first[0].pairs.assign(sets[0].pairs.begin(), sets[0].pairs.begin() + static_cast<std::ptrdiff_t>(n));
    std::vector<size_t> out;
    for (const auto& part : rerank::planParts(first, true, lanes, {batch})) {
      size_t t = 0;
      for (const auto& span : part) t += 20 + (span.end - span.begin) * 80;  // the prefix, then each pair's own
      out.push_back(t);
    }
    return out;
  };
  // 3 lanes of 512-token calls: parts of 6 pairs (20 + 480 tokens), 18 pairs; 19 would not fit. The
  // rest, about 2,950 tokens (the 22 pairs tokenized beyond the round, 5,800 bytes of text left, and
  // the prefix again), in 2 calls a lane; the call whole (4,390) in 3.
  const size_t n = rerank::firstRoundPairs(sets, 40 * perPair, 5800, 3, {512});
  const auto round = partTokens(n, 3, 512);
  failures += check(n == 18 && round.size() == 3 && *std::max_element(round.begin(), round.end()) <= 512,
                    "a round of one call per lane, as full as whole pairs make it");
  const auto more = partTokens(19, 3, 512);
  failures += check(*std::max_element(more.begin(), more.end()) > 512, "one pair more would spill into a second call");
  // One lane of 1,000-token calls: a round of 12 pairs (980 tokens). Of 36 pairs tokenized (2,900
  // tokens, 80.6 a pair of text) and L pairs' text left, the call whole takes ceil((2,900 + 80.6 L) /
  // 1,000) calls, the round and the rest 1 + ceil((1,940 + 80.6 L) / 1,000) (the rest decodes the
  // 20-token prefix again).
  std::vector<rerank::PairSet> some(1);
  some[0].pairs.assign(sets[0].pairs.begin(), sets[0].pairs.begin() + 36);
  const auto firstWith = [&](uint64_t left) { return rerank::firstRoundPairs(some, 36 * perPair, left * perPair, 1, {1000}); };
  failures += check(firstWith(20) == 12, "20 pairs left: 1 + 4 calls against 5");
  failures += check(firstWith(26) == 0, "26 pairs left: none, 1 + 5 calls against 5 (the rest just over 4 calls' worth)");
  failures += check(firstWith(27) == 12, "27 pairs left: 1 + 5 against 6");

  // On 4 KV streams of 512-token calls a wave holds 4 of these pairs (100 tokens each, their prefix
  // decoded on every stream), though 5 would fit the call's tokens: a round of 12, one wave a lane.
  const rerank::CallRoom streams{512, 4};
  const size_t onStreams = rerank::firstRoundPairs(sets, 40 * perPair, 5800, 3, streams);
  const auto waves = rerank::planParts(rerank::firstPairs(sets, onStreams), true, 3, streams);
  bool fourEach = waves.size() == 3;
  for (const auto& part : waves) fourEach = fourEach && part.size() == 1 && part[0].end - part[0].begin == 4;
  failures += check(onStreams == 12 && fourEach, "KV streams: a round of one wave a lane, 4 pairs each");
  return failures;
}

// KV streams' waves (wave_plan.h): the width whose calls hold the most tokens, longest pairs first.
static int checkWaves() {
  int failures = 0;
  const auto same = [](size_t n, size_t need) { return std::vector<size_t>(n, need); };
  // 4096-token calls on 16 streams, pairs of 280 tokens: 14 in one call (3,920 tokens); 16 would
  // have 256 tokens a stream a call, short of 280, so two calls.
  failures += check(rerank::waveCalls(same(14, 280), 16, 4096) == 1, "14 pairs of 280 in one call of 4096");
  failures += check(rerank::waveCalls(same(16, 280), 16, 4096) == 2, "16 pairs of 280: a wave of 14, then one of 2");
  // 2048-token calls: 15 pairs of 265 in a wave of two calls of 133 a stream (1,987 tokens a call)
  // fill them better than 7 pairs in one (1,855).
  const rerank::Wave wide = rerank::nextWave(15, 16, 2048, [](size_t) { return size_t{265}; });
  failures += check(wide.width == 15 && wide.calls == 2, "a wave of 15 pairs in two calls rather than of 7 in one");
  // a pair longer than a call, alone
  failures += check(rerank::waveCalls({5000}, 16, 4096) == 2, "a pair of 5,000 tokens in two calls of 4096");
  // longest first: 2 pairs of 500 and 8 of 100 on 4 streams, 1000-token calls: the two long ones in
  // a call of their own (a wave of 4 would take 2 calls of 250 a stream), then the short ones in 2
  // waves of 4
  failures += check(rerank::waveCalls({100, 100, 100, 100, 500, 100, 100, 100, 100, 500}, 4, 1000) == 3,
                    "waves of like lengths, the longest first");
  // Parts of a call on KV streams are as many as its waves' calls, not its tokens', and of about
  // equal needs (each pair decodes its prefix on its stream): 6 pairs of 100 on 4 streams take 2
  // waves, so 2 parts of 3 pairs on 3 lanes, where the shared cache's 600 tokens fit one call (and its
  // costs, the prefix on the first pair only, would cut them 1 + 5: two waves on one lane).
  std::vector<std::vector<llama_token>> tokens(6, std::vector<llama_token>(100, 9));
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i].back() = static_cast<llama_token>(400 + i);
  std::vector<rerank::PairSet> sets(1);
  for (auto& t : tokens) sets[0].pairs.push_back(&t);
  failures += check(rerank::planParts(sets, true, 3, {1000}).size() == 1, "the shared cache: one part");
  const auto parts = rerank::planParts(sets, true, 3, {1000, 4});
  failures += check(parts.size() == 2 && parts[0][0].end - parts[0][0].begin == 3 && parts[1][0].end - parts[1][0].begin == 3,
                    "KV streams: a part for each wave's calls, of equal needs");
  return failures;
}

// The model on the CPU, for the checks that need its vocabulary only (null if it fails to load).
static rerank::ModelPtr cpuModel(const char* path) {
  llama_model_params mp = llama_model_default_params();
  mp.n_gpu_layers = 0;
  return rerank::ModelPtr(llama_model_load_from_file(path, mp));
}

// A call's rest of documents tokenized by two threads, one of them helping (helpTokenizeRest, as a
// call's own thread does once its first round has decoded), comes out as tokenizing them all on one:
// every document once, a token budget and a failing document where one thread would stop.
static int checkHelpTokenizing(const char* path) {
  int failures = 0;
  const rerank::ModelPtr model = cpuModel(path);
  if (!model) return check(false, "help tokenizing: the model loads");
  const rerank::Prompt prompt(llama_model_get_vocab(model.get()));
  std::vector<Group> groups(3);
  for (size_t k = 0; k < groups.size(); ++k) {
    Group& g = groups[k] = searchGroup("query " + std::to_string(k), 128);
    for (int i = 0; i < 120; ++i) {
      std::string doc = "Document " + std::to_string(i);
      for (int w = 0; w < 1 + (i * 7 + static_cast<int>(k)) % 23; ++w) doc += " about Paris";
      g.documents.push_back(doc);
    }
  }
  groups[1].tokenBudget = 2000;  // stops after a few dozen documents
  groups[2].truncate = false;
  groups[2].documents[90] = std::string(4000, 'x');  // too long: the group fails there
  const std::vector<rerank::PreparedGroup> alone = rerank::preparePairs(prompt, groups, 128, 1);
  rerank::CallDocuments documents(prompt, groups, 128);
  documents.tokenizeFirst(600, SIZE_MAX, 1);
  std::thread rest([&] { documents.tokenizeRest(1); });
  const size_t helped = documents.helpTokenizeRest();
  rest.join();
  const std::vector<rerank::PreparedGroup> both = documents.assemble();
  bool same = both.size() == alone.size();
  for (size_t k = 0; same && k < alone.size(); ++k) {
    const rerank::PreparedGroup &a = alone[k], &b = both[k];
    same = a.result.completed == b.result.completed && a.result.errorCode == b.result.errorCode &&
           a.result.errorIndex == b.result.errorIndex && a.owner == b.owner && a.pairs.size() == b.pairs.size();
    for (size_t p = 0; same && p < a.pairs.size(); ++p) same = a.pairs[p].tokens == b.pairs[p].tokens;
  }
  failures += check(same, "help tokenizing: the pairs, budget stops and failures of one thread");
  failures += check(alone[0].pairs.size() == 120 && alone[1].result.completed < 120 && alone[2].result.errorCode == "DOCUMENT_TOO_LONG",
                    "help tokenizing: the call has a full group, one cut by its budget and one failing");
  // (not checked: the other thread could take them all first on a busy machine, however unlikely)
  std::printf("help tokenizing: the helper took %zu of the documents left\n", helped);
  return failures;
}

// A first round on KV streams takes at most a pair a stream: tokenizeFirst stops at the pairs asked
// for, though the tokens asked for would take every document, and tokenizes no more documents than
// that (the rest tokenize while the round decodes), across groups in call order.
static int checkTokenizeFirstPairs(const char* path) {
  int failures = 0;
  const rerank::ModelPtr model = cpuModel(path);
  if (!model) return check(false, "tokenize first: the model loads");
  const rerank::Prompt prompt(llama_model_get_vocab(model.get()));
  std::vector<Group> groups(2);
  uint64_t bytes = 0;
  for (size_t k = 0; k < groups.size(); ++k) {
    groups[k] = searchGroup("query " + std::to_string(k), 128);
    for (int i = 0; i < 5; ++i) {
      groups[k].documents.push_back("Document " + std::to_string(i) + " about Paris");
      bytes += groups[k].documents.back().size();
    }
  }
  rerank::CallDocuments documents(prompt, groups, 128);
  documents.tokenizeFirst(1000000, 7, 1);
  const rerank::CallDocuments::Leading leading = documents.leadingPairs();
  const size_t first = leading.pairs[0].size(), second = leading.pairs[1].size();
  failures += check(first == 5 && second == 2, "tokenize first: 7 pairs, the first group's 5 and the second's first 2");
  failures += check(documents.bytesLeft() == bytes - leading.bytes && !documents.allTokenized(), "tokenize first: the other 3 documents left");
  documents.tokenizeFirst(1000000, SIZE_MAX, 1);
  failures += check(documents.allTokenized(), "tokenize first: without a cap on pairs, every document for the tokens asked");
  return failures;
}

// A pass of tokenizeFirst takes as many documents as tokenize side by side (a thread each), though
// fewer would hold the tokens asked for: a call of a few long documents does not tokenize them one
// at a time. The cap on pairs still holds.
static int checkTokenizeFirstWidth(const char* path) {
  int failures = 0;
  const rerank::ModelPtr model = cpuModel(path);
  if (!model) return check(false, "tokenize first, width: the model loads");
  const rerank::Prompt prompt(llama_model_get_vocab(model.get()));
  std::vector<Group> groups(1);
  groups[0] = searchGroup("query", 128);
  std::string words;
  for (int w = 0; w < 60; ++w) words += " about Paris";  // ~120 tokens: one holds the 50 asked for
  for (int i = 0; i < 8; ++i) groups[0].documents.push_back("Document " + std::to_string(i) + words);
  const auto firstPass = [&](unsigned threads, size_t pairs) {
    rerank::CallDocuments documents(prompt, groups, 128);
    documents.tokenizeFirst(50, pairs, threads);
    return documents.leadingPairs().pairs[0].size();
  };
  failures += check(firstPass(1, SIZE_MAX) == 1, "tokenize first, width: on one thread, the one document the tokens take");
  failures += check(firstPass(4, SIZE_MAX) == 4, "tokenize first, width: on 4 threads, 4 documents");
  failures += check(firstPass(16, SIZE_MAX) == 8, "tokenize first, width: on 16 threads, all 8");
  failures += check(firstPass(4, 3) == 3, "tokenize first, width: no more than the 3 pairs asked for");
  return failures;
}

// KV streams: a call's first round leaves its streams' prefixes for the call's rest (RunLink), which
// starts on them: it decodes no query again and scores as the pairs do in one run. A run of another
// call finds the head only, and so does the rest after it. 8 pairs of 41 tokens, each the kept head
// (12), a query (8) and a document (21) whose first token is its own, on 4 streams: waves of 4 with
// no padding, the same layout in one run as in two.
static int checkStreamsRoundLeavesPrefixes(const char* path) {
  int failures = 0;
  const rerank::ModelPtr model = cpuModel(path);
  if (!model) return check(false, "streams' round: the model loads");
  const rerank::ScoreHead head = rerank::ScoreHead::detect(model.get(), path);
  rerank::HiddenCapture capture;
  const uint32_t streams = 4, cells = 128, batch = 256;
  llama_context_params cp = llama_context_default_params();
  cp.n_batch = cp.n_ubatch = batch;
  cp.n_ctx = streams * cells;
  cp.n_seq_max = streams;
  cp.kv_unified = false;
  cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
  cp.type_k = cp.type_v = GGML_TYPE_F32;
  cp.n_threads = cp.n_threads_batch = 2;
  cp.no_perf = true;
  if (head.needsHiddenState()) {
    cp.cb_eval = &rerank::HiddenCapture::onEval;
    cp.cb_eval_user_data = &capture;
  }
  rerank::ContextPtr ctx(llama_init_from_model(model.get(), cp));
  if (!ctx) return check(false, "streams' round: a context");
  rerank::StreamDecoder decoder(ctx.get(), head, capture, batch, streams, llama_n_ctx(ctx.get()) / streams, 64);

  const size_t kHead = 12, kQuery = 8, kLength = 41;
  std::vector<llama_token> headTokens;
  for (size_t i = 0; i < kHead; ++i) headTokens.push_back(static_cast<llama_token>(100 + i));
  std::vector<std::vector<llama_token>> tokens(8, headTokens);
  for (size_t p = 0; p < tokens.size(); ++p) {
    for (size_t i = 0; i < kQuery; ++i) tokens[p].push_back(static_cast<llama_token>(200 + i));
    tokens[p].push_back(static_cast<llama_token>(300 + p));
    while (tokens[p].size() < kLength) tokens[p].push_back(static_cast<llama_token>(400 + tokens[p].size() + p));
  }
  const auto setOf = [&](size_t from, size_t to) {
    rerank::PairSet s;
    s.head = headTokens;
    for (size_t p = from; p < to; ++p) s.pairs.push_back(&tokens[p]);
    return std::vector<rerank::PairSet>{s};
  };
  rerank::DecodeStats stats;
  std::vector<rerank::PairSet> whole = setOf(0, 8);
  decoder.score(whole, true, stats);  // also decodes the head, for the runs below
  failures += check(whole[0].error.empty() && whole[0].computedTokens == 4 * kHead + 4 * (kLength - kHead) + 4 * (kLength - kHead - kQuery),
                    "streams' round: one run decodes the query once a stream");

  std::vector<rerank::PairSet> round = setOf(0, 4), rest = setOf(4, 8);
  decoder.score(round, true, stats, {7, 0});
  decoder.score(rest, true, stats, {0, 7});
  failures += check(round[0].computedTokens == 4 * (kLength - kHead) && rest[0].computedTokens == 4 * (kLength - kHead - kQuery),
                    "streams' round: the rest starts on the round's prefixes");
  failures += check(round[0].scores == std::vector<float>(whole[0].scores.begin(), whole[0].scores.begin() + 4) &&
                        rest[0].scores == std::vector<float>(whole[0].scores.begin() + 4, whole[0].scores.end()),
                    "streams' round: the scores of one run, to the bit");

  std::vector<rerank::PairSet> round2 = setOf(0, 4), between = setOf(0, 2), rest2 = setOf(4, 8);
  decoder.score(round2, true, stats, {8, 0});
  decoder.score(between, true, stats);  // another call's run
  decoder.score(rest2, true, stats, {0, 8});
  failures += check(between[0].computedTokens == 2 * (kLength - kHead) && rest2[0].computedTokens == 4 * (kLength - kHead),
                    "streams' round: a run of another call in between finds the head only, and so does the rest");
  float diff = 0;
  for (size_t i = 0; i < 4; ++i) diff = std::max(diff, std::abs(rest2[0].scores[i] - whole[0].scores[4 + i]));
  failures += check(rest2[0].error.empty() && diff < 1e-4f, "streams' round: the rest after another call scores as in one run");

  // Only the rest of the call, and packed: not a run of another number, nor one decoded alone.
  std::vector<rerank::PairSet> round3 = setOf(0, 4), other = setOf(4, 8), round4 = setOf(0, 4), alone = setOf(4, 8);
  decoder.score(round3, true, stats, {9, 0});
  decoder.score(other, true, stats, {0, 10});
  decoder.score(round4, true, stats, {11, 0});
  decoder.score(alone, false, stats, {0, 11});
  failures += check(other[0].computedTokens == 4 * (kLength - kHead) && alone[0].computedTokens == 4 * (kLength - kHead),
                    "streams' round: a run that continues another call, or one decoded alone, finds the head only");
  return failures;
}

// How many more contexts an automatic load adds: what the device's free memory holds beyond the reserve.
static int checkContextsThatFit() {
  int failures = 0;
  const uint64_t GiB = 1ull << 30;
  failures += check(rerank::contextsThatFit(100 * GiB, 2 * GiB, GiB, 2) == 2, "room for both");
  failures += check(rerank::contextsThatFit(4 * GiB, 2 * GiB, GiB, 2) == 1, "room for one: 2 GiB would eat the reserve");
  failures += check(rerank::contextsThatFit(GiB, 0, GiB, 2) == 0 && rerank::contextsThatFit(GiB / 2, GiB, GiB, 2) == 0,
                    "none when only the reserve is free");
  failures += check(rerank::contextsThatFit(3 * GiB, 0, GiB, 2) == 2, "a context that took nothing measurable");
  return failures;
}

// reuseGraphs: a request of many calls scores as without it (within float rounding: its pairs sit in
// other cells and calls; the exact path, F32 KV and no flash attention), and llama.cpp reuses the
// graph of every full call after each context's first two, on one context and, packed, on two.
// 512-token calls: their cells reach past 512, so without the sentinel the mask's span (rounded up
// to 256 cells) would move with the cells a call carries over, and fewer graphs would be reused.
static int checkReuseGraphs(const char* path) {
  int failures = 0;
  Group g = searchGroup("What is the capital of France?", 256);
  // 4 to 80 words each: pairs end in different places in the calls, so their shapes vary without it,
  // and the cells a call carries over (up to ~100) move its highest cell across 512 without the sentinel
  for (int i = 0; i < 160; ++i) {
    std::string doc = "Document " + std::to_string(i);
    for (int w = 0; w < 1 + (i * 7) % 39; ++w) doc += " about Paris";
    g.documents.push_back(doc);
  }
  for (uint32_t contexts = 1; contexts <= 2; ++contexts) {
    std::vector<float> scores[2];
    rerank::CallResult out[2];
    for (int reuse = 0; reuse < 2; ++reuse) {
      LoadOptions o = cpuOptions(path, 256, 512);  // one graph per call: the micro-batch is the batch
      o.kvType = "f32";
      o.flashAttention = "off";
      o.reuseGraphs = reuse == 1;
      o.contexts = contexts;
      o.pack = contexts > 1;
      auto r = Reranker::load(o);
      failures += check(r->info().reuseGraphs == (reuse == 1), "reuseGraphs in effect as asked");
      std::vector<Group> groups{g};
      out[reuse] = r->score(groups);
      failures += check(out[reuse].groups[0].error.empty() && out[reuse].groups[0].scores.size() == 160, "reused graphs: scored");
      scores[reuse] = out[reuse].groups[0].scores;
    }
    float diff = 0;
    for (size_t i = 0; i < scores[0].size() && i < scores[1].size(); ++i) diff = std::max(diff, std::abs(scores[0][i] - scores[1][i]));
    failures += check(diff < 1e-4f, "reused graphs: the same scores");
    // Each context's head call (alone, first), first call and the one after it, and last call have
    // shapes of their own; every other call is reused.
    const uint64_t calls = out[1].decodeCalls;
    failures += check(calls >= 6 * contexts && out[1].graphsReused + 4 * contexts == calls, "reused graphs: every full call after the first two");
    failures += check(out[0].graphsReused < out[1].graphsReused, "without: fewer");
    std::printf("reuseGraphs, %u context(s): %llu of %llu calls reused (%llu without, of %llu); scores within %g\n", contexts,
                static_cast<unsigned long long>(out[1].graphsReused), static_cast<unsigned long long>(calls),
                static_cast<unsigned long long>(out[0].graphsReused), static_cast<unsigned long long>(out[0].decodeCalls), diff);
  }
  {
    // Packed requests of their own queries in one call (as a GPU's concurrent requests are): the prefix
    // of each starts in a call among the pairs of the one before, and the calls still keep one shape.
    std::vector<Group> groups;
    for (int k = 0; k < 4; ++k) {
      Group q = g;
      q.query = "What is the capital of country number " + std::to_string(k) + "?";
      q.documents.resize(40);
      groups.push_back(q);
    }
    LoadOptions o = cpuOptions(path, 256, 512);
    o.reuseGraphs = true;
    o.pack = true;
    auto r = Reranker::load(o);
    const rerank::CallResult out = r->score(groups);
    bool scored = true;
    for (const auto& res : out.groups) scored = scored && res.error.empty() && res.scores.size() == 40;
    failures += check(scored, "reused graphs, packed requests: scored");
    failures += check(out.decodeCalls >= 8 && out.graphsReused + 4 >= out.decodeCalls, "reused graphs, packed requests: every full call after the first two");
    std::printf("reuseGraphs, 4 packed requests: %llu of %llu calls reused\n", static_cast<unsigned long long>(out.graphsReused),
                static_cast<unsigned long long>(out.decodeCalls));
  }
  return failures;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: rerank_selftest <lib dir> <model.gguf>\n");
    return 2;
  }
  rerank::ensureBackend(argv[1]);
  int failures = checkErrorText() + checkDocumentProgress() + checkPlanParts() + checkFirstRound() + checkWaves() + checkContextsThatFit() + checkHelpTokenizing(argv[2]) + checkTokenizeFirstPairs(argv[2]) + checkTokenizeFirstWidth(argv[2]) + checkStreamsRoundLeavesPrefixes(argv[2]) + checkReuseGraphs(argv[2]) +
                 checkWeightsAtLoad(argv[2]);
  for (int round = 0; round < 5; ++round) {
    LoadOptions o = cpuOptions(argv[2], 256, 64);
    // the three ways of decoding: each request alone, packed on the shared cache, KV streams; and
    // packed on two contexts decoding at once, then with the first pairs decoded while the rest of
    // the documents tokenize (on another thread, from the tokens' storage: what ASan watches)
    const bool streams = round == 2;
    o.pack = round > 0;
    o.kvStreams = streams ? 4 : 0;
    o.contexts = round >= 3 ? 2 : 1;
    o.tokenizeAhead = round == 4 ? "on" : "off";
    auto r = Reranker::load(o);

    Group g = searchGroup("What is the capital of France?", 256);
    for (int i = 0; i < 12; ++i) g.documents.push_back("Document " + std::to_string(i) + std::string(i * 40, 'x'));
    Group longOne = g;
    longOne.documents = {std::string(5000, 'y')};
    Group refused = longOne;
    refused.truncate = false;
    Group unshared = g;
    unshared.sharePrefix = false;
    Group chunked = longOne;
    chunked.maxChunks = 4;

    Group queryTooLong = g;
    queryTooLong.query = std::string(3000, 'q');
    // Text enough for two tokenizing threads (document_pairs.h), and a failure among its documents.
    Group crowd = g;
    crowd.documents.clear();
    for (int i = 0; i < 40; ++i) crowd.documents.push_back(std::to_string(i) + std::string(1000, ' ') + "end");  // a few tokens each
    Group crowdRefused = refused;
    crowdRefused.documents = crowd.documents;
    crowdRefused.documents[20] = std::string(5000, 'y');

    std::vector<Group> groups{g, longOne, refused, unshared, chunked, queryTooLong, crowd, crowdRefused};
    const rerank::CallResult call = r->score(groups);
    const auto& res = call.groups;
    failures += check((call.pairsAhead > 0) == (round == 4), "pairs decoded ahead with tokenizeAhead only");
    failures += check(res.size() == 8, "eight results");
    failures += check(res[6].error.empty() && res[6].scores.size() == 40, "a call's documents tokenized on two threads");
    failures += check(res[7].errorCode == "DOCUMENT_TOO_LONG" && res[7].errorIndex == 20, "the first failure among them");
    failures += check(res[5].errorCode == "QUERY_TOO_LONG", "query leaving no room refused");
    failures += check(res[4].chunks[0] == 4 && res[4].pairTokens[0] > 3 * 256, "long pair chunked");
    failures += check(res[0].scores.size() == 12 && res[0].error.empty(), "group scored");
    failures += check(res[1].truncated[0] && res[1].pairTokens[0] == 256, "long pair truncated");
    failures += check(res[2].errorCode == "DOCUMENT_TOO_LONG", "long pair refused");
    failures += check(res[0].computedTokens < res[3].computedTokens, "prefix shared");
    // A second call: the instruction's head was kept, so the same group computes less and, decoded
    // alone, scores to the bit as before; another instruction's group then takes the head's place.
    Group other = g;
    other.instruction = "Find the passages about cities";
    std::vector<Group> again{g, other, g};
    auto res2 = r->score(again).groups;
    failures += check(res2[0].error.empty() && res2[1].error.empty() && res2[2].error.empty(), "second call scored");
    if (!streams) failures += check(res2[0].computedTokens < res[0].computedTokens, "the head kept across calls");
    if (round == 0) failures += check(res2[0].scores == res[0].scores && res2[2].scores == res[0].scores, "a kept head changes no score");
    if (streams) {
      // KV streams: the other instruction's pairs took the head's cells off their streams, so the
      // next call decodes it again on every stream, and the one after starts after it, to the same
      // scores (the head decoded alone, the same way each time).
      std::vector<Group> alone{g};
      const auto decodedHead = r->score(alone).groups;
      const auto keptHead = r->score(alone).groups;
      failures += check(keptHead[0].error.empty() && keptHead[0].computedTokens < decodedHead[0].computedTokens,
                        "streams: the head kept across calls");
      failures += check(keptHead[0].scores == decodedHead[0].scores, "streams: a kept head changes no score");
    }
    failures += check(!r->tokenize("<|im_end|> text", false).empty(), "tokenized");
    const std::string text = "bounded " + std::string(20000, ' ') + " tokenization";
    const auto whole = r->tokenize(text, false);
    failures += check(r->tokenize(text, false, 100) == std::vector<llama_token>(whole.begin(), whole.begin() + 100),
                      "bounded tokenization is the whole one's front");
    // Every cut of a text whose characters take several tokens: the text of the first n tokens
    const std::string emoji = "caf\xc3\xa9 \xf0\x9f\x87\xab\xf0\x9f\x87\xb7 \xe6\xbc\xa2\xe5\xad\x97";
    const size_t emojiTokens = r->tokenize(emoji, false).size();
    for (size_t n = 0; n < emojiTokens; ++n) {
      const auto cut = r->firstTokensText(emoji, n);
      failures += check(cut && emoji.rfind(*cut, 0) == 0 && r->tokenize(*cut, false).size() <= n,
                        "a text's first tokens' text is a prefix of at most that many tokens");
    }
    failures += check(!r->firstTokensText(emoji, emojiTokens), "a text of no more tokens is left whole");
  }
  {
    // Packed: one group keeps its instruction's head, another instruction's pair of maxLength is
    // decoded beside it. The context holds both (the head's cells are reserved on top of a pair, a
    // batch and the packed prefixes): 448 + 32 + 32 + 256 cells, a whole number of llama.cpp's
    // 256-cell pages, so no rounding up leaves room that the reserve should have given.
    LoadOptions o = cpuOptions(argv[2], 448, 32);
    o.pack = true;
    auto r = Reranker::load(o);
    Group withHead;
    withHead.instruction = "Rank the passages";
    for (int i = 0; i < 16; ++i) withHead.instruction += " by how well they answer the question";
    withHead.query = "which river";
    withHead.maxLength = 448;
    withHead.documents = {"the Nile"};
    Group longPair = withHead;
    longPair.instruction = "Given a web search query, retrieve relevant passages that answer the query";
    longPair.documents = {std::string(4000, 'z')};
    std::vector<Group> both{withHead, longPair};
    auto res = r->score(both).groups;
    failures += check(res[0].error.empty() && res[1].error.empty() && res[1].pairTokens[0] == 448,
                      "a pair of maxLength beside another instruction's kept head");
  }
  try {
    LoadOptions bad;
    bad.path = "/nonexistent.gguf";
    Reranker::load(bad);
    failures += check(false, "missing file refused");
  } catch (const std::runtime_error&) {
  }
  std::printf("%s\n", failures == 0 ? "selftest passed" : "selftest FAILED");
  return failures == 0 ? 0 : 1;
}
