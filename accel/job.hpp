// An inference job and its result: what travels between the pool and a card.
#pragma once

#include <memory>
#include <string>

#include "actors/types.hpp"

namespace weaver {

class detector;

/// One frame for the pool: the frame and the per-camera detector engine that
/// runs on a card. A camera has at most one job in flight, so a stateful
/// engine (motion) sees its frames in order and is never used concurrently.
struct inference_job {
  frame_ptr input;
  std::shared_ptr<detector> engine;
  int64_t admitted_ns = 0;        // steady clock at admission, for frame age
};

/// The result of one job, produced by a card.
struct inference_result {
  uint64_t ticket = 0;            // the pool's handle for the job
  std::string card;
  bool ok = false;
  std::string error;
  detection_batch batch;
  double service_s = 0;           // time on the card
};

/// Steady-clock nanoseconds: admission times and frame ages.
int64_t steady_now_ns();

/// Runs a job on the calling thread: detection plus an appearance vector per
/// detection. What every CPU-side card executes.
inference_result run_job(const inference_job& job);

} // namespace weaver
