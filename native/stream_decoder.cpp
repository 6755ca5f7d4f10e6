#include "stream_decoder.h"

#include <algorithm>
#include <stdexcept>

#include "wave_plan.h"

namespace rerank {

// One pass over a list of sets: waves of pairs across the streams until every pair is scored.
class StreamDecoder::Run {
 public:
  Run(StreamDecoder& d, std::vector<PairSet*> sets, DecodeStats& stats)
      : d_(d), sets_(std::move(sets)), stats_(stats), streams_(static_cast<size_t>(d.streams_)) {
    for (size_t si = 0; si < sets_.size(); ++si) {
      PairSet* set = sets_[si];
      set->scores.assign(set->pairs.size(), 0.0f);
      SetState st;
      st.shared = set->sharePrefix && set->pairs.size() > 1 ? sharedPrefix(set->pairs) : 0;
      st.left = set->error.empty() ? set->pairs.size() : 0;
      st.done = st.left == 0;
      states_.push_back(st);
      for (size_t p = 0; p < st.left; ++p) pending_.push_back({si, p});
    }
    if (!d_.kept_.empty()) {
      for (size_t s = 0; s < streams_.size(); ++s) {
        if (!d_.groupHeld_[d_.groupOf(s)]) continue;
        // the run before of this call left more on it (its prefixes begin with the head)
        const bool more = d_.holdsMore() && !d_.prefixes_[s].empty();
        streams_[s].heldFrom = more ? &d_.prefixes_[s] : &d_.kept_;
        streams_[s].held = streams_[s].heldFrom->size();
        streams_[s].head = streams_[s].hadHead = true;
      }
    }
    // Longest first, so a wave's pairs are of like length; ties in set and pair order, so that a
    // set decoded alone always gets the same layout.
    std::stable_sort(pending_.begin(), pending_.end(), [this](const PairRef& a, const PairRef& b) { return size(a) > size(b); });
  }

  // False when the run ended early: a decode failed or was aborted.
  bool go() {
    for (;;) {
      dropCancelled();
      if (pending_.empty()) return true;
      if (!wave()) return false;
    }
  }

  // Marks the groups with a stream that no longer holds the kept head in its first cells, and
  // records what each stream that does holds, for a next run of the call (keepMore).
  void recordHeld() const {
    for (size_t s = 0; s < streams_.size(); ++s) {
      const Stream& st = streams_[s];
      if (st.hadHead && !st.head) d_.groupLost_[d_.groupOf(s)] = true;
      std::vector<llama_token>& held = d_.prefixes_[s];
      if (!st.head) {
        held.clear();
      } else if (st.heldFrom != &held) {
        held.assign(st.heldFrom->begin(), st.heldFrom->begin() + static_cast<std::ptrdiff_t>(st.held));
      } else {
        held.resize(st.held);  // a stream the run left alone
      }
    }
  }

 private:
  struct PairRef {
    size_t set;
    size_t pair;
  };
  struct SetState {
    size_t shared = 0;  // prefix tokens its pairs share
    size_t left = 0;    // pairs not scored yet
    bool done = false;
  };
  struct Stream {
    // Its first `held` cells are the first tokens of `heldFrom` (a prefix kept from its last pair).
    const std::vector<llama_token>* heldFrom = nullptr;
    size_t held = 0;
    bool hadHead = false;  // its first cells were the decoder's kept head when the run began
    bool head = false;     // and still are
    bool busy = false;  // a pair of the wave is on it
    PairRef pair{};
    size_t offset = 0;  // the pair's next token (its position)
  };
  struct Ending {
    size_t stream;
    int32_t batchIndex;  // where the pair's last token, the output, sits in the batch
  };

  const std::vector<llama_token>& tokens(const PairRef& r) const { return *sets_[r.set]->pairs[r.pair]; }
  size_t size(const PairRef& r) const { return tokens(r).size(); }
  // Where pair `r` starts on stream `s`: after the tokens the stream holds that begin it too (its
  // request's prefix, or another request's with the same instruction and query), unless its request
  // shares no prefix. Its last token is always decoded: its output is the score.
  size_t startOn(size_t s, const PairRef& r) const {
    const Stream& st = streams_[s];
    const auto& t = tokens(r);
    if (!sets_[r.set]->sharePrefix) return 0;
    const size_t most = std::min(st.held, t.size() - 1);
    size_t i = 0;
    while (i < most && (*st.heldFrom)[i] == t[i]) ++i;
    return i;
  }

  // Puts the wave's pairs (pending_[0, width)) on streams 0..width-1: each stream takes, of those
  // left, the one that reuses most of what it holds (every pair starts with the system line: a
  // pair of the request it served reuses the query too), the longest of those that tie.
  void assign(size_t width) {
    std::vector<PairRef> wave(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(width));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(width));
    for (size_t s = 0; s < width; ++s) {
      size_t pick = 0, reused = startOn(s, wave[0]);  // the wave is longest first
      for (size_t i = 1; i < wave.size(); ++i) {
        const size_t r = startOn(s, wave[i]);
        if (r > reused) {
          pick = i;
          reused = r;
        }
      }
      Stream& st = streams_[s];
      st.pair = wave[pick];
      wave.erase(wave.begin() + static_cast<std::ptrdiff_t>(pick));
      st.offset = startOn(s, st.pair);
      if (st.offset < st.held) llama_memory_seq_rm(d_.mem_, static_cast<llama_seq_id>(s), static_cast<llama_pos>(st.offset), -1);
      if (st.offset < d_.kept_.size()) st.head = false;
      st.held = st.offset;
      st.busy = true;
    }
  }

  // How many of the next pairs this wave takes (wave_plan.h), each estimated on the stream of its rank.
  size_t plan() const {
    const size_t width = nextWave(pending_.size(), streams_.size(), static_cast<size_t>(d_.batchSize_), [this](size_t i) {
      return size(pending_[i]) - startOn(i, pending_[i]);
    }).width;
    if (width == 0) throw std::logic_error("stream decoder: a wave of no pair");
    return width;
  }

  // Tokens per stream in each call of the wave: the fewest calls the longest pair needs, and the
  // least padding for that many.
  size_t tokensPerCall(size_t width) const {
    const size_t most = static_cast<size_t>(d_.batchSize_) / width;
    size_t longest = 0;
    for (size_t s = 0; s < width; ++s) longest = std::max(longest, size(streams_[s].pair) - streams_[s].offset);
    const size_t calls = (longest + most - 1) / most;
    return (longest + calls - 1) / calls;
  }

  // False when the run ended early: a decode failed or was aborted.
  bool wave() {
    const size_t width = plan();
    assign(width);
    const size_t k = tokensPerCall(width);
    const size_t padding = width > 1 ? k - 1 : 0;  // at most, after a pair's last token
    for (size_t s = 0; s < width; ++s) {
      if (size(streams_[s].pair) + padding > d_.streamCells_) throw std::logic_error("stream decoder: a pair and its padding exceed a stream");
    }
    for (;;) {
      dropCancelled();
      if (std::none_of(streams_.begin(), streams_.end(), [](const Stream& s) { return s.busy; })) return true;
      fill(k);
      const Decoded out = d_.decode(sets_, stats_);
      if (!out.ok) {
        for (size_t si = 0; si < sets_.size(); ++si) finish(si, out.error, out.aborted);
        return false;
      }
      readScores();
    }
  }

  // k tokens from every busy stream, in stream order (llama.cpp's order of the graph's outputs);
  // a stream alone needs no padding.
  void fill(size_t k) {
    d_.batch_.clear();
    endings_.clear();
    const bool pad = std::count_if(streams_.begin(), streams_.end(), [](const Stream& s) { return s.busy; }) > 1;
    for (size_t s = 0; s < streams_.size(); ++s) {
      Stream& st = streams_[s];
      if (!st.busy) continue;
      const auto seq = static_cast<llama_seq_id>(s);
      const auto& t = tokens(st.pair);
      const size_t n = std::min(k, t.size() - st.offset);
      for (size_t i = 0; i < n; ++i, ++st.offset) {
        d_.batch_.add(t[st.offset], static_cast<llama_pos>(st.offset), seq, st.offset + 1 == t.size());
      }
      if (st.offset == t.size()) {
        endings_.push_back({s, d_.batch_.size() - 1});
        // Padding, so every stream has k tokens: positions after the pair's last token, which
        // none of the pair's tokens attends to (its cells are removed once it is scored).
        for (size_t i = n; pad && i < k; ++i) d_.batch_.add(t.back(), static_cast<llama_pos>(t.size() + i - n), seq, false);
      }
      sets_[st.pair.set]->computedTokens += pad ? k : n;
    }
  }

  void readScores() {
    for (size_t e = 0; e < endings_.size(); ++e) {
      const size_t s = endings_[e].stream;
      const PairRef r = streams_[s].pair;
      sets_[r.set]->scores[r.pair] = d_.scoreOf(e, endings_.size(), endings_[e].batchIndex);
      release(s, states_[r.set].shared);
      if (--states_[r.set].left == 0) finish(r.set, "", false);
    }
  }

  // Frees stream `s` but for its first `keep` cells (its request's prefix, for a next pair that
  // starts with it) and the kept head, if it still holds it.
  void release(size_t s, size_t keep) {
    Stream& st = streams_[s];
    if (st.head) keep = std::max(keep, d_.kept_.size());
    llama_memory_seq_rm(d_.mem_, static_cast<llama_seq_id>(s), keep > 0 ? static_cast<llama_pos>(keep) : -1, -1);
    st.heldFrom = &tokens(st.pair);
    st.held = keep;
    st.busy = false;
  }

  // A cancelled set stops here, between decode calls: its streams and pending pairs are freed.
  void dropCancelled() {
    for (size_t si = 0; si < sets_.size(); ++si) {
      if (!states_[si].done && isCancelled(*sets_[si])) finish(si, "cancelled", true);
    }
  }

  // Ends a set; `error` empty: every pair was scored.
  void finish(size_t si, const std::string& error, bool aborted) {
    SetState& ss = states_[si];
    if (ss.done) return;
    ss.done = true;
    sets_[si]->error = error;
    sets_[si]->aborted = aborted;
    for (size_t s = 0; s < streams_.size(); ++s) {
      if (streams_[s].busy && streams_[s].pair.set == si) release(s, 0);
    }
    pending_.erase(std::remove_if(pending_.begin(), pending_.end(), [si](const PairRef& r) { return r.set == si; }), pending_.end());
  }

  StreamDecoder& d_;
  std::vector<PairSet*> sets_;
  DecodeStats& stats_;
  std::vector<Stream> streams_;
  std::vector<SetState> states_;
  std::vector<PairRef> pending_;
  std::vector<Ending> endings_;
};

StreamDecoder::StreamDecoder(llama_context* ctx, const ScoreHead& head, HiddenCapture& capture, int32_t batchSize,
                             int32_t streams, uint32_t streamCells, uint32_t headReserve)
    : Decoder(ctx, head, capture, batchSize, 1, headReserve),
      batchSize_(batchSize),
      streams_(streams),
      streamCells_(streamCells),
      groupHeld_((static_cast<size_t>(streams) + kHeadGroup - 1) / kHeadGroup, false),
      groupLost_(groupHeld_.size(), false),
      prefixes_(static_cast<size_t>(streams)) {}

bool StreamDecoder::run(std::vector<PairSet*> sets, DecodeStats& stats) {
  Run r(*this, std::move(sets), stats);
  const bool ok = r.go();
  r.recordHeld();  // (a run that fails or throws empties the whole cache after it: afterRun)
  return ok;
}

bool StreamDecoder::decodeHead(const std::vector<PairSet*>& sets, PairSet& payer, bool fresh, DecodeStats& stats) {
  if (fresh) {
    groupHeld_.assign(groupHeld_.size(), false);
    groupLost_.assign(groupLost_.size(), false);
  }
  // The groups of the streams a run can use: waves fill streams from 0, one pair each.
  size_t pairs = 0;
  for (const PairSet* s : sets) pairs += s->error.empty() && !isCancelled(*s) ? s->pairs.size() : 0;
  const size_t groups = (std::min(pairs, static_cast<size_t>(streams_)) + kHeadGroup - 1) / kHeadGroup;
  // Alone, from cell 0 of each stream of the group, the group in calls of its own: the same values
  // whenever it is decoded.
  const size_t perStream = std::min(kept_.size(), static_cast<size_t>(batchSize_) / std::min(kHeadGroup, static_cast<size_t>(streams_)));
  for (size_t g = 0; g < groups; ++g) {
    if (groupHeld_[g]) continue;
    const size_t first = g * kHeadGroup;
    const size_t last = std::min(first + kHeadGroup, static_cast<size_t>(streams_));
    for (size_t at = 0; at < kept_.size(); at += perStream) {
      batch_.clear();
      for (size_t s = first; s < last; ++s) {
        for (size_t i = at; i < std::min(at + perStream, kept_.size()); ++i) {
          batch_.add(kept_[i], static_cast<llama_pos>(i), static_cast<llama_seq_id>(s), false);
        }
      }
      payer.computedTokens += static_cast<uint64_t>(batch_.size());
      const Decoded out = decode(sets, stats);
      if (!out.ok) {
        failAll(sets, out);
        return false;
      }
    }
    groupHeld_[g] = true;
  }
  return true;
}

void StreamDecoder::trimStreams(bool prefixes) {
  for (size_t s = 0; s < static_cast<size_t>(streams_); ++s) {
    const size_t g = groupOf(s);
    // A group that lost the head on one stream is emptied on all: it is decoded again as a whole.
    const bool keeps = !groupLost_[g] && groupHeld_[g];
    if (!keeps || !prefixes) prefixes_[s].clear();
    const size_t from = keeps ? std::max(kept_.size(), prefixes_[s].size()) : 0;
    llama_memory_seq_rm(mem_, static_cast<llama_seq_id>(s), static_cast<llama_pos>(from), -1);
  }
  for (size_t g = 0; g < groupHeld_.size(); ++g) groupHeld_[g] = groupHeld_[g] && !groupLost_[g];
  groupLost_.assign(groupLost_.size(), false);
}

void StreamDecoder::keepOnlyHead() { trimStreams(false); }

bool StreamDecoder::keepMore() {
  trimStreams(true);
  return true;
}

}  // namespace rerank
