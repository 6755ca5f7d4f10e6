#include "decoder.h"

#include <algorithm>
#include <chrono>
#include <stdexcept>

#include "backend.h"

namespace rerank {

size_t sharedPrefix(const std::vector<const std::vector<llama_token>*>& pairs) {
  size_t n = pairs[0]->size() - 1;
  for (const auto* p : pairs) {
    n = std::min(n, p->size() - 1);
    size_t i = 0;
    while (i < n && (*p)[i] == (*pairs[0])[i]) ++i;
    n = i;
  }
  return n;
}

bool startsWithHead(const PairSet& set) {
  return !set.head.empty() && !set.pairs.empty() &&
         std::all_of(set.pairs.begin(), set.pairs.end(), [&](const std::vector<llama_token>* p) {
           return p->size() > set.head.size() && std::equal(set.head.begin(), set.head.end(), p->begin());
         });
}

HeadChoice chooseHead(const std::vector<PairSet*>& sets, const std::vector<llama_token>& kept) {
  for (PairSet* s : sets) {
    if (!startsWithHead(*s)) s->head.clear();
  }
  HeadChoice choice;
  for (PairSet* s : sets) {
    if (s->pairs.empty() || !s->error.empty() || isCancelled(*s)) continue;
    if (choice.action == HeadChoice::Action::Nothing) choice.action = HeadChoice::Action::Drop;
    if (s->head.empty()) continue;
    if (s->head == kept) return {HeadChoice::Action::UseKept, s};
    if (!choice.payer) choice = {HeadChoice::Action::Decode, s};
  }
  return choice;
}

Decoder::Decoder(llama_context* ctx, const ScoreHead& head, HiddenCapture& capture, int32_t batchSize, int32_t maxSeqsPerToken,
                 uint32_t headReserve)
    : ctx_(ctx),
      mem_(llama_get_memory(ctx)),
      batch_(batchSize, maxSeqsPerToken),
      headReserve_(headReserve),
      head_(head),
      capture_(capture) {
  llama_set_abort_callback(ctx_, &Decoder::onAbort, this);
}

void Decoder::score(std::vector<PairSet>& sets, bool pack, DecodeStats& stats, const RunLink& link) {
  // What an earlier run held beyond the head is for the run of its call that continues it only.
  if (heldFor_ != 0 && !(pack && link.continues == heldFor_)) {
    keepOnlyHead();
    heldFor_ = 0;
  }
  keepFor_ = pack ? link.keepFor : 0;
  // Each run leaves the cache as the next one expects it (afterRun), also when it throws.
  struct Reset {
    Decoder& d;
    ~Reset() {
      d.afterRun();
      d.keepFor_ = 0;
    }
  } reset{*this};
  if (pack) {
    std::vector<PairSet*> all;
    for (PairSet& s : sets) all.push_back(&s);
    runOnce(std::move(all), stats);
    return;
  }
  for (PairSet& s : sets) {
    if (abortAll_.load()) {
      s.error = "cancelled";
      s.aborted = true;
      continue;
    }
    runOnce({&s}, stats);
    afterRun();
  }
}

void Decoder::runOnce(std::vector<PairSet*> sets, DecodeStats& stats) {
  runFailed_ = true;  // until the run ends well: after a throw or a failed decode the cache is emptied
  if (!prepareHead(sets, stats)) return;
  runFailed_ = !run(std::move(sets), stats);
}

bool Decoder::prepareHead(const std::vector<PairSet*>& sets, DecodeStats& stats) {
  if (headReserve_ == 0) return true;
  const HeadChoice choice = chooseHead(sets, kept_);
  switch (choice.action) {
    case HeadChoice::Action::Nothing:
      return true;
    case HeadChoice::Action::Drop:
      dropHead();
      return true;
    case HeadChoice::Action::UseKept:
      return decodeHead(sets, *choice.payer, false, stats);
    case HeadChoice::Action::Decode:
      dropHead();
      if (choice.payer->head.size() > headReserve_) return true;  // too long to keep: none is
      kept_ = choice.payer->head;
      return decodeHead(sets, *choice.payer, true, stats);
  }
  return true;
}

void Decoder::afterRun() {
  if (kept_.empty() || runFailed_) {
    runFailed_ = false;
    dropHead();
    return;
  }
  if (keepFor_ != 0 && keepMore()) {
    heldFor_ = keepFor_;
  } else {
    keepOnlyHead();
    heldFor_ = 0;
  }
}

void Decoder::dropHead() {
  kept_.clear();
  heldFor_ = 0;
  llama_memory_clear(mem_, false);
}

bool Decoder::onAbort(void* self) {
  auto* d = static_cast<Decoder*>(self);
  const auto* sets = d->running_;
  // Only when no set of this decode wants its result: the others' pairs share the batch.
  const bool stop = d->abortAll_.load(std::memory_order_relaxed) ||
                    (sets && !sets->empty() &&
                     std::all_of(sets->begin(), sets->end(), [](const PairSet* s) { return !s->error.empty() || isCancelled(*s); }));
  if (stop) d->stopping_.store(true, std::memory_order_relaxed);
  return stop;
}

Decoder::Decoded Decoder::decode(const std::vector<PairSet*>& sets, DecodeStats& stats) {
  capture_.reset();
  clearLastLlamaError();  // what an earlier call logged is not this call's cause
  running_ = &sets;  // the sets onAbort asks about: this call's only, also if it throws
  stopping_.store(false);
  // llama.cpp logs an aborted decode as three failures; a service that cancels requests would
  // print them at every cancel. They are logged on this thread, after onAbort said stop.
  const QuietLlamaErrors quiet(&stopping_);
  struct Clear {
    const std::vector<PairSet*>*& running;
    ~Clear() { running = nullptr; }
  } clear{running_};
  const int32_t reusedBefore = llama_perf_context(ctx_).n_reused;  // counted with no_perf too
  const auto start = std::chrono::steady_clock::now();
  const int32_t rc = llama_decode(ctx_, batch_.get());
  stats.decodeMs += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  stats.decodeCalls++;
  stats.graphsReused += static_cast<uint64_t>(std::max(0, llama_perf_context(ctx_).n_reused - reusedBefore));
  if (rc == 0) return {};
  if (rc == 2) return {false, "cancelled", true};
  const std::string why = takeLastLlamaError();
  return {false, "llama_decode failed (" + std::to_string(rc) + ")" + (why.empty() ? "" : ": " + why), false};
}

void Decoder::failAll(const std::vector<PairSet*>& sets, const Decoded& out) {
  for (PairSet* s : sets) {
    if (!s->error.empty()) continue;
    const bool cancelled = isCancelled(*s);
    s->error = cancelled ? "cancelled" : out.error;
    s->aborted = cancelled || out.aborted;
  }
}

float Decoder::scoreOf(size_t k, size_t outputs, int32_t batchIndex) const {
  if (!head_.needsHiddenState()) return head_.fromLogits(llama_get_logits_ith(ctx_, batchIndex));
  const size_t width = static_cast<size_t>(head_.width());
  // llama.cpp keeps only output rows in that tensor, in batch order: one per scored pair
  if (capture_.floats() != outputs * width) throw std::runtime_error("the model's hidden state was not captured for every pair");
  return head_.fromHidden(capture_.row(k, width));
}

}  // namespace rerank
