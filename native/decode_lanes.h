// Several llama_contexts over one model ("lanes"), decoding the parts of one call at once.
//
// On a GPU about half of each llama_decode is host work while the GPU idles: building the graph and
// its inputs, launching its kernels one by one (issue 9's profile of G100 on an H200: 33 ms per
// decode call, of which the host waited for the GPU 16.4 ms). A context cannot start its next call
// before its last returns, but a second context can: its host work then runs while the first's
// kernels do. So a call's pairs are cut into parts, runs of consecutive pairs, each decoded on
// whichever lane is free, with that lane's own cache: its kept instruction head, and a request's
// prefix decoded again for each part (a few dozen tokens).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "decoder.h"
#include "hidden_capture.h"
#include "llama_handles.h"

namespace rerank {

struct Lane {
  std::unique_ptr<HiddenCapture> capture;  // address fixed: the context holds it (cb_eval)
  ContextPtr ctx;
  std::unique_ptr<Decoder> decoder;
  int32_t threadsNow = 0;  // what llama_set_n_threads last set (0: the context's own)
};

// Pairs [begin, end) of the call's set `set`.
struct PairSpan {
  size_t set = 0;
  size_t begin = 0;
  size_t end = 0;
};
// What one lane decodes in one go: spans in the call's order, of several sets when packed.
using Part = std::vector<PairSpan>;

// How a lane's decoder fills its decode calls: on the shared cache (`streams` 0), up to
// `batchTokens` tokens of any of its pairs; on KV streams, waves of a pair a stream, each pair's
// tokens but the kept head (native/wave_plan.h).
struct CallRoom {
  size_t batchTokens = 0;
  size_t streams = 0;
};

// Cuts the pairs of `sets` (those without an error) into parts of about equal tokens: as many as
// there are lanes, but no more than the decode calls their tokens need (`room`: on the shared cache
// a part counted with its request's prefix, which it decodes again, but not the instruction head a
// lane keeps; the longest such prefix of the call's sets, up to half a call; on KV streams the
// calls of their waves), so that each part fills about whole calls: 1.5 calls' worth goes in two
// parts of 0.75 side by side, not in one full call and a small one after it; under one call's worth
// stays whole. Packed, parts run across sets in the call's order; not packed, each set is cut on
// its own, so its parts, and so its scores, depend on it alone.
std::vector<Part> planParts(const std::vector<PairSet>& sets, bool pack, size_t lanes, const CallRoom& room);

// `sets` with their settings and their pairs in call order, up to `n` pairs in all (none of a set
// with an error).
std::vector<PairSet> firstPairs(const std::vector<PairSet>& sets, size_t n);

// The most pairs a first round can take: on KV streams one wave, a pair a stream, on each lane; on
// the shared cache no bound but the lanes' calls' tokens (SIZE_MAX).
size_t firstRoundMostPairs(size_t lanes, const CallRoom& room);

// How many of the call's first pairs, in call order (`sets`, packed: the pairs tokenized so far, of
// documents of `bytesTokenized` bytes), to decode in a round of their own while the documents left
// (`bytesLeft` bytes) tokenize: the most that planParts cuts into parts of one call each (on the
// shared cache a part's tokens, its pairs' and each of its sets' prefix less the kept head, at most
// `room.batchTokens`; on KV streams one wave of one call); 0 when that round and the rest after it
// would take more decode calls than the call whole, by an estimate.
size_t firstRoundPairs(const std::vector<PairSet>& sets, uint64_t bytesTokenized, uint64_t bytesLeft, size_t lanes,
                       const CallRoom& room);

// Scores every set as Decoder::score does, its parts decoded on the lanes at once (one lane: the
// call is not cut). The lanes share `threads` CPU threads: k lanes decoding side by side get
// threads / k each, so that ggml's threads do not fight over the cores (on a GPU they only look up
// the token embeddings). Not packed, every lane always takes threads / lanes, whatever else the call
// holds: ggml's CPU results can depend on the thread count (its flash attention splits a one-token
// batch's cells per thread), and a request's scores must depend on that request alone. A set fails when one of its parts does, with that part's error; what a lane
// throws is thrown here once every lane has stopped. stats.decodeMs is the wall time of decoding
// on all lanes together. `link`: each lane's run's (Decoder::score).
void scoreOnLanes(std::vector<Lane>& lanes, std::vector<PairSet>& sets, bool pack, const CallRoom& room, int32_t threads,
                  DecodeStats& stats, const RunLink& link = {});

}  // namespace rerank
