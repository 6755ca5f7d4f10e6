#include "parallel.h"

#include <atomic>
#include <thread>
#include <vector>

namespace rerank {

void forEachIndex(size_t n, unsigned threads, const std::function<void(size_t i, unsigned worker)>& fn) {
  std::atomic<size_t> next{0};
  const auto work = [&](unsigned worker) {
    for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) fn(i, worker);
  };
  std::vector<std::thread> helpers;
  try {
    helpers.reserve(threads);  // so that adding one never moves the running ones
  } catch (...) {
    threads = 1;
  }
  for (unsigned t = 1; t < threads && t < n; ++t) {
    try {
      helpers.emplace_back(work, t);
    } catch (...) {
      break;  // no thread to be had: the ones running do the rest
    }
  }
  work(0);
  for (auto& h : helpers) h.join();
}

}  // namespace rerank
