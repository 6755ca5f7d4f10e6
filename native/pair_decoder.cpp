#include "pair_decoder.h"

#include <algorithm>
#include <optional>
#include <stdexcept>

namespace rerank {

// One pass over a list of sets: fills batches from them in order, decodes, reads the scores.
// It tracks the KV cells it holds so a batch never asks for more than the context has: a set's
// prefix cells live until its last pair is scored, a pair's until it is scored; the kept head's
// cells are there throughout.
class PairDecoder::Run {
 public:
  Run(PairDecoder& d, std::vector<PairSet*> sets, DecodeStats& stats)
      : d_(d), sets_(std::move(sets)), stats_(stats), cells_(d_.kept_.size()) {
    for (llama_seq_id s = d_.maxSeqs_ - 1; s >= 0; --s) freeSeqs_.push_back(s);
    for (PairSet* set : sets_) {
      State st;
      st.set = set;
      set->scores.assign(set->pairs.size(), 0.0f);
      st.done = set->pairs.empty() || !set->error.empty();
      st.shared = set->sharePrefix && set->pairs.size() > 1 ? sharedPrefix(set->pairs) : 0;
      // A set of the kept head's instruction starts its prefix from the head's cells; a single
      // pair then has a prefix too: the head.
      if (!st.done && usesKeptHead(*set)) {
        st.fromHead = d_.kept_.size();
        st.shared = std::max(st.shared, st.fromHead);
      }
      states_.push_back(st);
    }
    beginShape();
  }

  // false when a decode failed (each set then has the error)
  bool go() {
    for (;;) {
      dropCancelled();
      if (std::all_of(states_.begin(), states_.end(), [](const State& s) { return s.done; })) return true;
      fill();
      if (d_.batch_.size() == 0) throw std::logic_error("pair decoder: no room for the next token");
      d_.shape_.pad(d_.batch_, freeSeqs_, d_.contextCells_ - cells_, pending(), filler_);
      cells_ += d_.shape_.padded();
      const Decoded out = d_.decode(sets_, stats_);
      cells_ -= d_.shape_.release(d_.mem_, freeSeqs_);
      if (!out.ok) {
        for (State& s : states_) finish(s, out.error, out.aborted);
        return false;
      }
      readScores();
    }
  }

 private:
  struct State {
    PairSet* set = nullptr;
    size_t shared = 0;           // prefix tokens its pairs share
    size_t fromHead = 0;         // of those, the kept head's (not decoded by this run)
    llama_seq_id prefixSeq = -1;
    size_t prefixAt = 0;         // prefix tokens added to batches so far
    int32_t prefixFrom = 0;      // where this batch's prefix tokens start in it,
    size_t prefixInBatch = 0;    // and how many there are
    bool active = false;
    bool done = false;
    size_t nextPair = 0;         // the first pair not started
  };
  struct Spanning {  // a pair whose tokens did not all fit the last batch
    size_t state;
    size_t pair;
    llama_seq_id seq;
    size_t offset;
  };
  struct Ending {
    size_t state;
    size_t pair;
    llama_seq_id seq;
    int32_t batchIndex;  // where its last token, the output, sits in the batch
  };

  // run() kept a set's head only where every pair of the set begins with it
  bool usesKeptHead(const PairSet& set) const { return !d_.kept_.empty() && set.head == d_.kept_; }

  bool roomForToken() const { return d_.batch_.size() < limit_ && cells_ < d_.contextCells_; }

  // The run's bounds for CallShape: its tokens, its longest pair past its prefix, and the prefix
  // cells a call may find held. A call holds the prefix of the set whose pair it carries over and
  // those of the sets that start in it, which the sets between them, started and ended in it, leave
  // it room for; activate() admits them within the reserve (the first set's whole). More can be held
  // (sets of a few tokens each): the calls then reach above the sentinel, and reuse fewer graphs.
  void beginShape() {
    if (!d_.shape_.enabled()) return;  // the default: nothing to lay out, no call padded
    std::vector<size_t> prefix;  // of each set that decodes: the prefix cells it holds, and all its tokens
    std::vector<size_t> size;
    size_t own = 0;
    CallShape::Layout layout;  // where in the run's tokens sequences start and outputs are
    for (const State& s : states_) {
      if (s.done) continue;
      prefix.push_back(s.shared - s.fromHead);
      size.push_back(prefix.back());
      if (prefix.back() > 0) layout.starts.push_back(layout.tokens);
      layout.tokens += prefix.back();
      for (const auto* p : s.set->pairs) {
        own = std::max(own, p->size() - s.shared);
        size.back() += p->size() - s.shared;
        layout.starts.push_back(layout.tokens);
        layout.tokens += p->size() - s.shared;
        layout.outputs.push_back(layout.tokens - 1);
      }
      if (filler_ < 0) filler_ = s.set->pairs[0]->front();
    }
    const size_t batch = static_cast<size_t>(d_.batch_.capacity());
    size_t held = 0;
    for (size_t i = 0; i < prefix.size(); ++i) {
      size_t sum = prefix[i];
      size_t between = 0;  // tokens of the sets after i that a call holds whole
      for (size_t j = i + 1; j < prefix.size() && between < batch; ++j) {
        sum += prefix[j];
        between += size[j];
      }
      held = std::max(held, sum);
    }
    const size_t largest = prefix.empty() ? 0 : *std::max_element(prefix.begin(), prefix.end());
    held = std::min(held, std::max<size_t>(largest, d_.prefixReserve_));
    d_.shape_.begin(held, own, layout);
  }

  // Tokens are left for a later call: a pair that did not fit, or one not started.
  bool pending() const {
    return spanning_.has_value() ||
           std::any_of(states_.begin(), states_.end(), [](const State& s) { return !s.done && s.nextPair < s.set->pairs.size(); });
  }

  void add(State& s, llama_token t, size_t pos, llama_seq_id seq, bool output) {
    d_.batch_.add(t, static_cast<llama_pos>(pos), seq, output);
    ++cells_;
    ++s.set->computedTokens;
  }

  // Adds the rest of a pair from `offset`; true when its last token is in the batch.
  bool addPair(size_t si, size_t pair, llama_seq_id seq, size_t& offset) {
    State& s = states_[si];
    const auto& tokens = *s.set->pairs[pair];
    for (; offset < tokens.size() && roomForToken(); ++offset) add(s, tokens[offset], offset, seq, offset + 1 == tokens.size());
    if (offset < tokens.size()) return false;
    endings_.push_back({si, pair, seq, d_.batch_.size() - 1});
    return true;
  }

  // Sets start in order: one when nothing is running, more while their prefixes fit the reserve.
  bool activate(State& s) {
    size_t held = 0;
    bool any = false;
    for (const State& o : states_) {
      if (o.active && !o.done) {
        held += o.shared - o.fromHead;
        any = true;
      }
    }
    if (any && (held + s.shared - s.fromHead > d_.prefixReserve_ || freeSeqs_.size() < 2)) return false;
    if (s.shared > 0) s.prefixSeq = takeSeq();
    if (s.fromHead > 0) llama_memory_seq_cp(d_.mem_, d_.headSeq_, s.prefixSeq, -1, -1);
    s.prefixAt = s.fromHead;
    s.active = true;
    return true;
  }

  void fill() {
    d_.batch_.clear();
    limit_ = d_.shape_.capacity();
    endings_.clear();
    for (State& s : states_) s.prefixInBatch = 0;
    if (spanning_) {
      Spanning& sp = *spanning_;
      if (!addPair(sp.state, sp.pair, sp.seq, sp.offset)) return;
      spanning_.reset();
    }
    for (size_t si = 0; si < states_.size() && roomForToken(); ++si) {
      State& s = states_[si];
      if (s.done) continue;
      if (!s.active && !activate(s)) return;
      if (s.prefixAt < s.shared) {
        const auto& first = *s.set->pairs[0];
        s.prefixFrom = d_.batch_.size();
        for (; s.prefixAt < s.shared && roomForToken(); ++s.prefixAt) add(s, first[s.prefixAt], s.prefixAt, s.prefixSeq, false);
        s.prefixInBatch = static_cast<size_t>(d_.batch_.size() - s.prefixFrom);
        if (s.prefixAt < s.shared) return;  // the batch is full
      }
      while (s.nextPair < s.set->pairs.size() && roomForToken()) {
        if (freeSeqs_.empty()) return;
        const llama_seq_id seq = takeSeq();
        if (s.shared > 0) joinPrefix(s, seq);
        const size_t pair = s.nextPair++;
        size_t offset = s.shared;
        if (!addPair(si, pair, seq, offset)) {
          spanning_ = Spanning{si, pair, seq, offset};
          return;
        }
      }
    }
  }

  // A pair starting now sees all of its set's prefix: the cells earlier calls decoded (copied: on a
  // unified cache the cells are shared, not their data) and the prefix tokens of this batch, which
  // its sequence joins. So a set's first call holds its prefix and its first pairs, not the prefix alone.
  void joinPrefix(const State& s, llama_seq_id seq) {
    if (s.prefixInBatch < s.shared) llama_memory_seq_cp(d_.mem_, s.prefixSeq, seq, -1, -1);
    for (size_t k = 0; k < s.prefixInBatch; ++k) d_.batch_.addSeq(s.prefixFrom + static_cast<int32_t>(k), seq);
  }

  void readScores() {
    const size_t outputs = d_.batch_.outputs();  // the pairs' and, after them, CallShape's fillers'
    for (size_t k = 0; k < endings_.size(); ++k) {
      const Ending& e = endings_[k];
      State& s = states_[e.state];
      s.set->scores[e.pair] = d_.scoreOf(k, outputs, e.batchIndex);
      llama_memory_seq_rm(d_.mem_, e.seq, -1, -1);
      releaseSeq(e.seq);
      cells_ -= s.set->pairs[e.pair]->size() - s.shared;
    }
    for (State& s : states_) {
      const bool started = s.active && !s.done;
      const bool spanned = spanning_ && &states_[spanning_->state] == &s;
      if (started && s.nextPair == s.set->pairs.size() && !spanned) finish(s, "", false);
    }
  }

  // A cancelled set stops here, between decode calls: its cells and sequences are freed.
  void dropCancelled() {
    for (State& s : states_) {
      if (!s.done && isCancelled(*s.set)) finish(s, "cancelled", true);
    }
  }

  // Frees what a set holds; `error` empty: every pair was scored.
  void finish(State& s, const std::string& error, bool aborted) {
    if (s.done) return;
    if (spanning_ && &states_[spanning_->state] == &s) {
      llama_memory_seq_rm(d_.mem_, spanning_->seq, -1, -1);
      releaseSeq(spanning_->seq);
      cells_ -= spanning_->offset - s.shared;
      spanning_.reset();
    }
    if (s.prefixSeq >= 0) {
      llama_memory_seq_rm(d_.mem_, s.prefixSeq, -1, -1);
      releaseSeq(s.prefixSeq);
      cells_ -= s.prefixAt - s.fromHead;
      s.prefixSeq = -1;
    }
    s.done = true;
    s.set->error = error;
    s.set->aborted = aborted;
  }

  llama_seq_id takeSeq() {
    const llama_seq_id s = freeSeqs_.back();
    freeSeqs_.pop_back();
    return s;
  }
  void releaseSeq(llama_seq_id s) { freeSeqs_.push_back(s); }

  PairDecoder& d_;
  std::vector<PairSet*> sets_;
  DecodeStats& stats_;
  std::vector<State> states_;
  std::vector<llama_seq_id> freeSeqs_;
  std::vector<Ending> endings_;
  std::optional<Spanning> spanning_;
  size_t cells_;  // cells in use: the kept head's and this run's
  int32_t limit_ = 0;       // tokens of pairs and prefixes the call being filled may hold
  llama_token filler_ = -1;  // a token of the run's, for CallShape's fillers
};

bool PairDecoder::run(std::vector<PairSet*> sets, DecodeStats& stats) { return Run(*this, std::move(sets), stats).go(); }

bool PairDecoder::decodeHead(const std::vector<PairSet*>& sets, PairSet& payer, bool fresh, DecodeStats& stats) {
  if (!fresh) return true;
  // Alone, from cell 0, in calls of the batch size: the same cells and values whenever it is decoded.
  for (size_t at = 0; at < kept_.size();) {
    batch_.clear();
    for (; at < kept_.size() && !batch_.full(); ++at) batch_.add(kept_[at], static_cast<llama_pos>(at), headSeq_, false);
    payer.computedTokens += static_cast<uint64_t>(batch_.size());
    const Decoded out = decode(sets, stats);
    if (!out.ok) {
      failAll(sets, out);
      return false;
    }
  }
  return true;
}

// Every sequence but the head's goes: its cells stay 0 … n-1, the next run's tokens follow them.
void PairDecoder::keepOnlyHead() { llama_memory_seq_keep(mem_, headSeq_); }

}  // namespace rerank
