// How KV streams lay pairs into decode calls (native/stream_decoder.h), as arithmetic alone: waves
// of one pair a stream, longest first, each wave in calls of as many tokens a stream, its width the
// one that decodes the most tokens per call. StreamDecoder plans its waves with it, and
// decode_lanes.h estimates with it the calls a part of a call takes before any is decoded.
#pragma once

#include <cstddef>
#include <functional>
#include <vector>

namespace rerank {

struct Wave {
  size_t width = 0;  // pairs, on streams 0 … width-1
  size_t calls = 0;  // decode calls: its longest pair's tokens over batch / width a call
};

// The next wave of `pending` pairs waiting, longest first: `need(i)` is what the i-th decodes on
// stream i. Of the widths up to `streams` (and up to `batch`, a token a stream), the one whose calls
// hold the most of the pairs' tokens.
Wave nextWave(size_t pending, size_t streams, size_t batch, const std::function<size_t(size_t)>& need);

// The decode calls of pairs that decode `needs` tokens each (any order, each as much on any
// stream), in waves as nextWave makes them: an estimate for pairs not decoded yet, exact when each
// pair's need is what it decodes on the stream the wave gives it.
size_t waveCalls(std::vector<size_t> needs, size_t streams, size_t batch);

}  // namespace rerank
