// An inference job and its result: what travels between the pool and a card.
#pragma once

#include <memory>
#include <string>

#include "accel/workload.hpp"
#include "base/clock.hpp"
#include "base/types.hpp"

namespace weaver {

/// One frame for the pool: the frame and the camera's workload (its
/// detector). The workload holds what is the camera's own (the motion
/// model's background, a DNN's head layout for the camera's frame size); the
/// engine buffers it runs on belong to the card worker (engine::workspace).
/// The detector actor keeps a stateful workload to one job in flight, so it
/// sees its frames in order.
struct inference_job {
  frame_ptr input;
  std::shared_ptr<workload> work;
  int64_t admitted_ns = 0; // steady clock at admission, for frame age
};

/// The result of one job, produced by a card.
struct inference_result {
  uint64_t ticket = 0; // the pool's handle for the job
  std::string card;
  bool ok = false;
  std::string error;
  detection_batch batch;
  double service_s = 0; // time on the card
};

/// Runs a job on the calling thread, on that worker's engine buffers `ws`:
/// the workload's detections with their appearance vectors. What every
/// CPU-side card executes.
inference_result run_job(const inference_job& job, engine::workspace& ws);

} // namespace weaver
