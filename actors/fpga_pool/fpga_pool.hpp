// The accelerator pool actor: a thin shell around pool_scheduler and the
// cards. Replies to each job with its detections once a card finished it, or
// with an error when the job was dropped (reason counted in
// weaver_frames_dropped_total) or failed on its card. A timer drives card
// timeouts, expiry of stale frames, re-probes of down cards and the gauges.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "accel/card.hpp"
#include "accel/pool_scheduler.hpp"
#include "actors/actors.hpp"

namespace weaver {

struct pool_settings {
  scheduler_options sched;
  int64_t card_timeout_ms = 5000; // no completion this long with work outstanding: card down
  int64_t tick_ms = 20; // timer period
  int64_t probe_ms = 1000; // re-probe period of a down card
};

struct fpga_pool_state {
  static inline const char* name = "fpga_pool";
  struct pending {
    inference_job job;
    caf::typed_response_promise<detection_batch> rp;
  };
  pool_scheduler sched;
  pool_settings settings;
  std::vector<std::shared_ptr<card>> cards;
  std::vector<int64_t> next_probe_ns;
  std::vector<uint64_t> jobs_done; // per card, for the status reply
  std::vector<double> busy_mark_s; // busy slot-seconds at the last gauge update
  int64_t gauge_mark_ns = 0;
  std::map<uint64_t, pending> jobs;
  std::set<uint32_t> cameras; // seen, for the queue gauges
  uint64_t next_ticket = 1;
  run_stats_ptr stats;
};

fpga_pool_actor::behavior_type fpga_pool(fpga_pool_actor::stateful_pointer<fpga_pool_state> self,
                                         std::vector<std::shared_ptr<card>> cards, pool_settings settings,
                                         run_stats_ptr stats);

/// The scheduler's view of a card.
pool_scheduler::card_spec card_spec_of(const card& c, int64_t timeout_ms);

} // namespace weaver
