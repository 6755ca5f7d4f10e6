// Indexed work spread over a few threads, each taking the next index: items are handed out in order.
#pragma once

#include <cstddef>
#include <functional>

namespace rerank {

// Calls fn(i, worker) for every i < n, on up to `threads` threads, this one among them as worker 0.
// `worker` (< threads) names the thread that runs the item, so that each thread can use what is its
// own (a decoding context). A thread that cannot be started leaves its share to the running ones.
// fn must not throw.
void forEachIndex(size_t n, unsigned threads, const std::function<void(size_t i, unsigned worker)>& fn);

}  // namespace rerank
