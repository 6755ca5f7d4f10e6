#include "decode_lanes.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <exception>

#include "parallel.h"
#include "wave_plan.h"

namespace rerank {
namespace {

// A pair and the tokens decoding it takes: those it does not share with its set's other pairs, and
// for the first pair of a set the shared ones too, but for the instruction's head, which a lane keeps
// in its cache from one call to the next.
struct Item {
  size_t set;
  size_t pair;
  size_t cost;
  size_t again;  // its set's prefix less the kept head: what a part that starts in the set decodes again
  size_t need;   // all but the kept head: what it decodes on a KV stream that holds the head only
};

void appendPairs(const std::vector<PairSet>& sets, size_t s, std::vector<Item>& items) {
  const PairSet& set = sets[s];
  if (!set.error.empty() || set.pairs.empty()) return;
  const size_t head = startsWithHead(set) ? set.head.size() : 0;
  const size_t shared = std::max(head, set.sharePrefix && set.pairs.size() > 1 ? sharedPrefix(set.pairs) : 0);
  for (size_t p = 0; p < set.pairs.size(); ++p) {
    items.push_back({s, p, set.pairs[p]->size() - shared + (p == 0 ? shared - head : 0), shared - head, set.pairs[p]->size() - head});
  }
}

// Parts for pairs costing `total` tokens: as many as `lanes` (at most `items`), but no more than the
// decode calls their tokens need, each part counted with the prefix it decodes again (`again`).
size_t partsFor(size_t total, size_t again, size_t lanes, size_t items, size_t batchTokens) {
  const size_t batch = std::max<size_t>(batchTokens, 2);
  const size_t room = std::max(batch - std::min(again, batch), batch / 2);  // a part's own tokens per call
  const size_t calls = total <= batch ? 1 : (total + room - 1) / room;
  return std::clamp<size_t>(calls, 1, std::min(lanes, items));
}

// The decode calls of such a cut, its parts taken as equal: an estimate, for pairs not tokenized yet.
size_t callsOfCut(size_t total, size_t again, size_t lanes, size_t batchTokens) {
  if (total == 0) return 0;
  const size_t n = partsFor(total, again, lanes, SIZE_MAX, batchTokens);
  const size_t perPart = (total + n - 1) / n + (n > 1 ? again : 0);
  return n * ((perPart + batchTokens - 1) / batchTokens);
}

// KV streams: the waves' calls instead of the tokens' (wave_plan.h), each pair at its need.
std::vector<size_t> needsOf(const std::vector<Item>& items) {
  std::vector<size_t> needs;
  for (const Item& it : items) needs.push_back(it.need);
  return needs;
}

// Parts for KV streams: as many as `lanes` (at most the pairs), but no more than their waves' calls.
size_t partsForWaves(const std::vector<size_t>& needs, size_t lanes, const CallRoom& room) {
  return std::clamp<size_t>(waveCalls(needs, room.streams, room.batchTokens), 1, std::min(lanes, needs.size()));
}

// The decode calls of pairs needing `needs` on KV streams, cut into parts of as many pairs each: an
// estimate, for pairs not tokenized yet.
size_t waveCallsOfCut(const std::vector<size_t>& needs, size_t lanes, const CallRoom& room) {
  if (needs.empty()) return 0;
  const size_t n = partsForWaves(needs, lanes, room);
  size_t calls = 0;
  for (size_t k = 0; k < n; ++k) {
    const auto from = needs.begin() + static_cast<std::ptrdiff_t>(needs.size() * k / n);
    const auto to = needs.begin() + static_cast<std::ptrdiff_t>(needs.size() * (k + 1) / n);
    calls += waveCalls(std::vector<size_t>(from, to), room.streams, room.batchTokens);
  }
  return calls;
}

// Cuts `items` into parts of about equal cost (partsFor, partsForWaves): on KV streams their needs,
// as each pair decodes its prefix on the stream it gets.
void cut(const std::vector<Item>& items, size_t lanes, const CallRoom& room, std::vector<Part>& out) {
  if (items.empty()) return;
  const auto costOf = [&](const Item& it) { return room.streams > 0 ? it.need : it.cost; };
  size_t total = 0;
  size_t again = 0;
  for (const Item& it : items) {
    total += costOf(it);
    again = std::max(again, it.again);
  }
  const size_t n = room.streams > 0 ? partsForWaves(needsOf(items), lanes, room)
                                    : partsFor(total, again, lanes, items.size(), room.batchTokens);
  const double target = static_cast<double>(total) / static_cast<double>(n);
  Part part;
  size_t made = 0;  // parts finished
  size_t before = 0;  // cost of the items before this one
  for (const Item& it : items) {
    const size_t cost = costOf(it);
    // A new part starts where this item's middle would pass the next boundary.
    if (!part.empty() && made + 1 < n && static_cast<double>(before) + static_cast<double>(cost) / 2 > target * static_cast<double>(made + 1)) {
      out.push_back(std::move(part));
      part.clear();
      ++made;
    }
    if (!part.empty() && part.back().set == it.set && part.back().end == it.pair) {
      part.back().end++;
    } else {
      part.push_back({it.set, it.pair, it.pair + 1});
    }
    before += cost;
  }
  out.push_back(std::move(part));
}

// The sets one part decodes: its spans' pairs, with their sets' settings.
std::vector<PairSet> partSets(const std::vector<PairSet>& sets, const Part& part) {
  std::vector<PairSet> out;
  for (const PairSpan& span : part) {
    const PairSet& from = sets[span.set];
    PairSet s;
    s.pairs.assign(from.pairs.begin() + static_cast<std::ptrdiff_t>(span.begin), from.pairs.begin() + static_cast<std::ptrdiff_t>(span.end));
    s.sharePrefix = from.sharePrefix;
    s.head = from.head;
    s.cancelled = from.cancelled;
    out.push_back(std::move(s));
  }
  return out;
}

// The tokens a lane decodes for `part`: for each span, its prefix once (as the decoder finds it: the
// pairs' shared tokens, at least the kept head), less the kept head, and the rest of each pair.
size_t partTokens(const std::vector<PairSet>& sets, const Part& part) {
  size_t tokens = 0;
  for (const PairSpan& span : part) {
    PairSet s = partSets(sets, {span})[0];
    const size_t head = startsWithHead(s) ? s.head.size() : 0;
    const size_t shared = std::max(head, s.sharePrefix && s.pairs.size() > 1 ? sharedPrefix(s.pairs) : 0);
    tokens += shared - head;
    for (const auto* p : s.pairs) tokens += p->size() - shared;
  }
  return tokens;
}

// Whether a lane decodes `part` in one call: its tokens, or on KV streams its waves.
bool oneCall(const std::vector<PairSet>& sets, const Part& part, const CallRoom& room) {
  if (room.streams == 0) return partTokens(sets, part) <= room.batchTokens;
  const std::vector<PairSet> own = partSets(sets, part);
  std::vector<Item> items;
  for (size_t s = 0; s < own.size(); ++s) appendPairs(own, s, items);
  return waveCalls(needsOf(items), room.streams, room.batchTokens) <= 1;
}

void useThreads(Lane& lane, int32_t threads) {
  if (lane.threadsNow == threads) return;
  llama_set_n_threads(lane.ctx.get(), threads, threads);
  lane.threadsNow = threads;
}

}  // namespace

std::vector<PairSet> firstPairs(const std::vector<PairSet>& sets, size_t n) {
  std::vector<PairSet> out;
  for (const PairSet& from : sets) {
    PairSet s;
    const size_t take = from.error.empty() ? std::min(n, from.pairs.size()) : 0;
    s.pairs.assign(from.pairs.begin(), from.pairs.begin() + static_cast<std::ptrdiff_t>(take));
    s.sharePrefix = from.sharePrefix;
    s.head = from.head;
    s.cancelled = from.cancelled;
    n -= take;
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<Part> planParts(const std::vector<PairSet>& sets, bool pack, size_t lanes, const CallRoom& room) {
  std::vector<Part> parts;
  std::vector<Item> items;
  for (size_t s = 0; s < sets.size(); ++s) {
    appendPairs(sets, s, items);
    if (!pack) {
      cut(items, lanes, room, parts);
      items.clear();
    }
  }
  cut(items, lanes, room, parts);
  return parts;
}

size_t firstRoundMostPairs(size_t lanes, const CallRoom& room) { return room.streams > 0 ? lanes * room.streams : SIZE_MAX; }

size_t firstRoundPairs(const std::vector<PairSet>& sets, uint64_t bytesTokenized, uint64_t bytesLeft, size_t lanes,
                       const CallRoom& room) {
  std::vector<Item> items;
  for (size_t s = 0; s < sets.size(); ++s) appendPairs(sets, s, items);
  if (items.empty() || bytesTokenized == 0) return 0;
  const auto fits = [&](size_t n) {
    const std::vector<PairSet> first = firstPairs(sets, n);
    const std::vector<Part> parts = planParts(first, true, lanes, room);
    return parts.size() <= lanes && std::all_of(parts.begin(), parts.end(), [&](const Part& p) { return oneCall(first, p, room); });
  };
  // From the pairs whose cost fills the lanes' calls (on KV streams, a pair a stream at most), fewer
  // until they fit as cut.
  size_t n = 0;
  for (size_t cost = 0; n < items.size() && cost + items[n].cost <= lanes * room.batchTokens; ++n) cost += items[n].cost;
  n = std::min(n, firstRoundMostPairs(lanes, room));
  while (n > 0 && !fits(n)) --n;
  if (n == 0) return 0;

  // The round's calls are seldom quite full (its pairs are whole), so the rest may need a call more
  // per lane than the call whole would (when its calls' tokens are just over a whole number of
  // calls): then it does not pay. The pairs not tokenized yet are estimated at the cost per byte of
  // text of those that are. No margin: on a large call the estimate's error is worth more than a
  // round's shortfall, so a margin wide enough to be safe would refuse nearly every large call.
  const size_t roundCalls = planParts(firstPairs(sets, n), true, lanes, room).size();
  if (room.streams > 0) {
    // On KV streams the waves' calls: as many pairs left as the bytes say, each at the mean need of
    // those tokenized (the round's pairs are whole waves, so it costs a call only where its waves
    // are narrower than the call whole's).
    std::vector<size_t> all = needsOf(items);
    size_t sum = 0;
    for (size_t need : all) sum += need;
    const size_t mean = (sum + all.size() / 2) / all.size();
    const double pairsLeft = static_cast<double>(bytesLeft) * static_cast<double>(items.size()) / static_cast<double>(bytesTokenized);
    all.insert(all.end(), static_cast<size_t>(pairsLeft + 0.5), mean);
    const std::vector<size_t> rest(all.begin() + static_cast<std::ptrdiff_t>(n), all.end());
    return roundCalls + waveCallsOfCut(rest, lanes, room) <= waveCallsOfCut(all, lanes, room) ? n : 0;
  }
  size_t known = 0, head = 0, again = 0;
  for (size_t k = 0; k < items.size(); ++k) {
    known += items[k].cost;
    if (k < n) head += items[k].cost;
    again = std::max(again, items[k].again);
  }
  const auto left = static_cast<size_t>(static_cast<double>(bytesLeft) * static_cast<double>(known) / static_cast<double>(bytesTokenized));
  // The rest starts within a set the round began: it decodes that set's prefix again.
  const size_t rest = known - head + left + again;
  const size_t batchTokens = room.batchTokens;
  return roundCalls + callsOfCut(rest, again, lanes, batchTokens) <= callsOfCut(known + left, again, lanes, batchTokens) ? n : 0;
}

void scoreOnLanes(std::vector<Lane>& lanes, std::vector<PairSet>& sets, bool pack, const CallRoom& room, int32_t threads,
                  DecodeStats& stats, const RunLink& link) {
  const std::vector<Part> parts = lanes.size() > 1 ? planParts(sets, pack, lanes.size(), room) : std::vector<Part>{};
  const size_t side = pack ? std::clamp<size_t>(parts.size(), 1, lanes.size()) : lanes.size();  // lanes decoding at once
  const int32_t share = std::max<int32_t>(1, threads / static_cast<int32_t>(side));
  if (parts.size() <= 1) {
    useThreads(lanes[0], share);
    lanes[0].decoder->score(sets, pack, stats, link);
    return;
  }
  for (Lane& lane : lanes) useThreads(lane, share);
  std::vector<std::vector<PairSet>> work;
  work.reserve(parts.size());
  for (const Part& part : parts) work.push_back(partSets(sets, part));
  std::vector<DecodeStats> partStats(parts.size());
  std::vector<std::exception_ptr> thrown(parts.size());

  const auto start = std::chrono::steady_clock::now();
  forEachIndex(parts.size(), static_cast<unsigned>(lanes.size()), [&](size_t i, unsigned lane) {
    try {
      lanes[lane].decoder->score(work[i], pack, partStats[i], link);
    } catch (...) {
      thrown[i] = std::current_exception();
    }
  });
  stats.decodeMs += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();

  for (PairSet& set : sets) {
    if (set.error.empty() && !set.pairs.empty()) set.scores.assign(set.pairs.size(), 0.0f);  // the sets in parts
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    stats.decodeCalls += partStats[i].decodeCalls;
    stats.graphsReused += partStats[i].graphsReused;
    for (size_t k = 0; k < parts[i].size(); ++k) {
      const PairSpan& span = parts[i][k];
      PairSet& set = sets[span.set];
      const PairSet& done = work[i][k];
      // a part whose head failed to decode ends before its scores are laid out
      std::copy_n(done.scores.begin(), std::min(done.scores.size(), span.end - span.begin),
                  set.scores.begin() + static_cast<std::ptrdiff_t>(span.begin));
      set.computedTokens += done.computedTokens;
      if (set.error.empty() && !done.error.empty()) {
        set.error = done.error;
        set.aborted = done.aborted;
      }
    }
  }
  for (const auto& e : thrown) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace rerank
