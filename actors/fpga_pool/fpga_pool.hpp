// The accelerator pool actor: a thin shell around pool_scheduler and the
// cards. Replies to each job with its detections once a card finished it.
#pragma once

#include <map>
#include <memory>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "accel/card.hpp"
#include "accel/pool_scheduler.hpp"
#include "actors/actors.hpp"

namespace weaver {

struct fpga_pool_state {
  static inline const char* name = "fpga_pool";
  struct pending {
    inference_job job;
    caf::typed_response_promise<detection_batch> rp;
  };
  pool_scheduler sched;
  std::vector<std::shared_ptr<card>> cards;
  std::map<uint64_t, pending> jobs;
  uint64_t next_ticket = 1;
  int64_t max_age_ns = 0;          // 0 = never drop (not realtime)
  run_stats_ptr stats;
};

/// `max_age_ms` > 0 drops queued frames older than that (realtime).
fpga_pool_actor::behavior_type
fpga_pool(fpga_pool_actor::stateful_pointer<fpga_pool_state> self,
          std::vector<std::shared_ptr<card>> cards, int64_t max_age_ms, run_stats_ptr stats);

} // namespace weaver
