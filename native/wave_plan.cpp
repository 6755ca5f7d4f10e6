#include "wave_plan.h"

#include <algorithm>

namespace rerank {

Wave nextWave(size_t pending, size_t streams, size_t batch, const std::function<size_t(size_t)>& need) {
  Wave best;
  const size_t most = std::min(streams, pending);
  size_t sum = 0, longest = 0;
  double perCallBest = 0;
  for (size_t w = 1; w <= most && batch / w > 0; ++w) {
    const size_t n = need(w - 1);
    sum += n;
    longest = std::max(longest, n);
    const size_t calls = (longest + batch / w - 1) / (batch / w);
    const double perCall = static_cast<double>(sum) / static_cast<double>(calls);
    if (perCall > perCallBest) {
      perCallBest = perCall;
      best = {w, calls};
    }
  }
  return best;
}

size_t waveCalls(std::vector<size_t> needs, size_t streams, size_t batch) {
  std::sort(needs.begin(), needs.end(), std::greater<>());
  size_t calls = 0;
  for (size_t at = 0; at < needs.size();) {
    const Wave w = nextWave(needs.size() - at, streams, batch, [&](size_t i) { return needs[at + i]; });
    if (w.width == 0) break;  // no stream or no batch: nothing could decode them
    calls += w.calls;
    at += w.width;
  }
  return calls;
}

}  // namespace rerank
