// Scheduling of inference jobs across a pool of cards, without CAF (unit-
// tested directly and driven in virtual time by tools/bench_pool).
//
// - Per-camera bounded FIFO queues; a full queue evicts its oldest job (for
//   real time the newest frame is worth more).
// - Fairness: cameras with work wait in a ring and are served one job per
//   turn, so no camera starves however many frames another one sends.
// - Placement: the up card with room whose expected completion is earliest,
//   from each slot's predicted free time (its outstanding batches at the
//   EWMA of measured service time, corrected as batches finish); or plain
//   round-robin over cards with room (the peer the benchmark compares with:
//   no service-time estimates, so no predicted-deadline drops either).
// - Batching: when there are more ready jobs than free card slots, a card
//   that gains from batching (batch_cost(b) < b) gets up to max_batch jobs;
//   such a card gets nothing queued ahead, so its batches form when it frees.
// - Deadlines: with max_age set, jobs already older than it are dropped
//   ("stale"), and so are jobs that would finish past it on the best card
//   ("deadline", earliest-completion only), instead of spending card time
//   on late frames.
// - Health: a card that fails or stops making progress goes down; its
//   outstanding jobs return to the heads of their queues and run elsewhere.
// Time is passed in (steady nanoseconds), so tests and benchmarks control it.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

namespace weaver {

enum class placement { earliest_completion, round_robin };

struct scheduler_options {
  size_t queue_per_camera = 16; // bound of each camera's queue
  int64_t max_age_ns = 0; // > 0: real time, older jobs are dropped
  int max_in_flight_per_camera = 1; // 1 keeps stateful detectors in frame order
  int depth = 2; // batches a non-batching card may hold per slot (running + queued)
  int64_t orphan_after_ns = 30'000'000'000; // no card up this long: queued jobs dropped
  placement policy = placement::earliest_completion;
  // A card's timeout grows after late completions (slow_completion), up to
  // this many times its configured one.
  int max_timeout_factor = 8;
};

class pool_scheduler {
public:
  struct card_spec {
    std::string name;
    int capacity = 1; // batches at once
    int max_batch = 1; // jobs per batch
    double initial_service_s = 0.05; // per job, until measured
    std::vector<double> batch_cost; // [b-1] = time(b) / time(1); empty = b
    int64_t timeout_ns = 5'000'000'000; // no progress this long with work outstanding: down
  };
  struct job_ref {
    uint64_t ticket;
    uint32_t camera;
    int64_t admitted_ns;
  };
  struct dispatch {
    uint64_t batch; // handle for complete()
    size_t card;
    std::vector<job_ref> jobs;
  };
  struct drop {
    uint64_t ticket;
    uint32_t camera;
    const char* reason; // stale | deadline | queue_full | no_card
  };

  explicit pool_scheduler(scheduler_options o = {});

  /// Adds a card; returns its index. Throws std::invalid_argument on a bad spec.
  size_t add_card(card_spec spec);

  /// Queues a job at the tail of its camera's queue.
  void enqueue(uint64_t ticket, uint32_t camera, int64_t admitted_ns, std::vector<drop>* drops);

  /// Places ready jobs on cards with room.
  std::vector<dispatch> schedule(int64_t now_ns, std::vector<drop>* drops);

  /// Drops stale jobs anywhere in the queues (schedule() only sees heads),
  /// and every queued job once no card has been up for orphan_after_ns.
  void expire(int64_t now_ns, std::vector<drop>* drops);

  /// A batch finished after `service_s` on its card. False when the batch is
  /// no longer outstanding (its card was declared down): ignore its results.
  bool complete(uint64_t batch, double service_s, int64_t now_ns);

  /// Whether a batch is still outstanding (not completed, not failed over).
  bool outstanding(uint64_t batch) const { return batches_.count(batch) > 0; }

  /// Takes a card out of rotation; its outstanding jobs go back to the
  /// heads of their queues, in order. Returns them.
  std::vector<job_ref> card_down(size_t card, int64_t now_ns);
  void card_up(size_t card, int64_t now_ns);

  /// Up cards with work outstanding and no completion for their timeout.
  std::vector<size_t> overdue(int64_t now_ns) const;

  /// A batch already failed over (complete() said false) finished after all,
  /// after `service_s`: the card is slow, not hung (an overloaded host). Its
  /// timeout grows to twice that, at most max_timeout_factor times the
  /// configured one, so it is not taken down, and its work run twice, again
  /// and again for batches it does finish. Returns the card's timeout.
  int64_t slow_completion(size_t card, double service_s);
  int64_t card_timeout_ns(size_t c) const { return cards_.at(c).timeout_ns; }

  size_t cards() const { return cards_.size(); }
  const std::string& card_name(size_t c) const { return cards_.at(c).spec.name; }
  bool card_is_up(size_t c) const { return cards_.at(c).up; }
  double ewma_service_s(size_t c) const { return cards_.at(c).ewma_s; }
  /// Jobs dispatched to the card and not completed.
  size_t card_jobs(size_t c) const { return cards_.at(c).jobs; }
  /// Slot-seconds busy since the start: busy ratio = its rate / capacity.
  double card_busy_s(size_t c, int64_t now_ns) const;
  size_t queued() const { return queued_; }
  size_t queued(uint32_t camera) const;
  size_t in_flight() const { return in_flight_; }
  const scheduler_options& options() const { return o_; }

private:
  struct card_slot {
    card_spec spec;
    bool up = true;
    double ewma_s;
    bool measured = false; // ewma_s has seen a completion (predictions trusted)
    int batches = 0; // outstanding
    size_t jobs = 0;
    std::vector<int64_t> slot_free; // per slot: predicted end of its last batch
    int64_t timeout_ns = 0; // spec.timeout_ns, grown by slow_completion
    int64_t progress_ns = 0; // last completion, or when work arrived at an idle card
    double busy_slot_ns = 0; // integral of min(batches, capacity)
    int64_t busy_mark_ns = 0;
  };
  struct camera_slot {
    uint32_t id;
    std::deque<job_ref> q;
    int in_flight = 0;
    bool in_ring = false;
  };
  struct batch_rec {
    size_t card;
    size_t slot;
    int64_t predicted_end_ns;
    double cost;
    std::vector<job_ref> jobs;
  };

  double cost(const card_slot& c, int b) const;
  bool has_room(const card_slot& c) const;
  int pick_card(int64_t now_ns) const;
  /// When a new job of cost `cost` would finish on the card, from now.
  double eta_s(const card_slot& c, int64_t now_ns, double cost) const;
  static size_t earliest_slot(const card_slot& c);
  camera_slot& camera(uint32_t id);
  void ring_push(size_t cam);
  void account_busy(card_slot& c, int64_t now_ns);
  int effective_max_batch(const card_slot& c) const;

  scheduler_options o_;
  std::vector<card_slot> cards_;
  std::vector<camera_slot> cameras_;
  std::unordered_map<uint32_t, size_t> camera_index_;
  std::deque<size_t> ring_; // cameras with a ready job, in service order
  std::unordered_map<uint64_t, batch_rec> batches_;
  uint64_t next_batch_ = 1;
  size_t rr_cursor_ = 0;
  size_t queued_ = 0, in_flight_ = 0;
  int64_t all_down_since_ = -1; // when the last up card went down
};

} // namespace weaver
