// The card interface: an accelerator that runs batches of inference jobs
// asynchronously. Backends: cpu (host worker threads), xrt (Alveo cards
// through XRT's native API), sim (a service-time model with injectable
// faults). The pool (actors/fpga_pool) schedules across any mix of them.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "accel/job.hpp"

namespace weaver {

/// What a card is: shown by `weaver cards`, used by the scheduler.
struct card_info {
  std::string name; // unique in the pool: cpu0, sim1, xrt0
  std::string kind; // cpu | xrt | sim
  std::string device; // cpu: "host"; xrt: BDF or index; sim: "sim"
  int capacity = 1; // batches it runs at once
  int max_batch = 1; // jobs per batch
  uint64_t memory_bytes = 0; // device memory (xrt), host RAM (cpu), configured (sim)
  std::string details; // free text: threads, xclbin and kernel, distribution
  double nominal_service_s = 0.05; // per job, the scheduler's estimate until measured
};

/// One job of a batch, with the pool's ticket for it.
struct card_job {
  uint64_t ticket = 0;
  inference_job job;
};

/// A finished batch. ok = false with `error` when the card failed as a whole
/// (the pool then marks it down and re-dispatches the batch); otherwise one
/// result per job, in submission order, each with its own ok / error.
struct batch_result {
  std::string card;
  bool ok = false;
  std::string error;
  std::vector<inference_result> results;
  double service_s = 0; // time on the card for the whole batch
};

/// A card's completion as the pool receives it.
struct card_done {
  uint64_t batch = 0;
  size_t card = 0;
  batch_result result;
};

class card {
public:
  using completion = std::function<void(batch_result)>;
  virtual ~card() = default;
  virtual const card_info& info() const = 0;
  const std::string& name() const { return info().name; }
  /// Queues a batch of 1..max_batch jobs. `done` runs once, on a card thread,
  /// unless the card hangs: the pool's timeout covers that.
  virtual void submit(std::vector<card_job> batch, completion done) = 0;
  /// Health check of a card the pool marked down; true when it can take work
  /// again, else `why` says what is wrong. Called from the pool's thread.
  virtual bool probe(std::string* why) = 0;
  /// Expected time of a batch of `b` jobs over the time of one job; b when
  /// batching gains nothing (the default), less when it does.
  virtual double batch_cost(int b) const { return b; }
  /// Builds what the card needs to run jobs like `job` (engine buffers, a
  /// network upload) before real frames arrive, so none waits for it.
  /// Called before any submit.
  virtual void prepare(const inference_job& job) { (void)job; }
};

} // namespace weaver
