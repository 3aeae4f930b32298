// A CPU "card": a group of host worker threads running the detector engine,
// one batch per worker at a time (the engine gains nothing from batching on
// the host, so batches are single jobs). Each worker owns the engine
// sessions (buffers) it runs on: memory grows with threads, not cameras.
#pragma once

#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "accel/batch_queue.hpp"
#include "accel/card.hpp"
#include "accel/engine/executor.hpp"

namespace weaver {

class cpu_card : public card {
public:
  cpu_card(std::string name, int threads);
  ~cpu_card() override;
  cpu_card(const cpu_card&) = delete;
  cpu_card& operator=(const cpu_card&) = delete;

  const card_info& info() const override { return info_; }
  void submit(std::vector<card_job> batch, completion done) override;
  /// Host threads do not fail independently of the process.
  bool probe(std::string*) override { return true; }
  /// Runs `job` once on every worker's buffers, on the calling thread, so
  /// each worker has its session of the job's model before frames arrive.
  void prepare(const inference_job& job) override;
  /// Engine sessions the workers hold (one per worker and model).
  size_t sessions() const;

private:
  struct worker_space {
    mutable std::mutex mtx;
    engine::workspace ws;
  };
  void work(worker_space& space);

  std::vector<std::unique_ptr<worker_space>> spaces_;

  card_info info_;
  batch_queue queue_;
  std::vector<std::thread> workers_;
};

/// Host RAM in bytes (what a CPU card reports as its memory).
uint64_t host_memory_bytes();

} // namespace weaver
