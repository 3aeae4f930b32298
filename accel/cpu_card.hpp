// A CPU "card": a group of host worker threads running the detector engine.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "accel/card.hpp"

namespace weaver {

class cpu_card : public card {
public:
  cpu_card(std::string name, int threads);
  ~cpu_card() override;
  cpu_card(const cpu_card&) = delete;
  cpu_card& operator=(const cpu_card&) = delete;

  const std::string& name() const override { return name_; }
  std::string kind() const override { return "cpu"; }
  int capacity() const override { return static_cast<int>(workers_.size()); }
  void submit(uint64_t ticket, inference_job job, completion done) override;

private:
  struct item {
    uint64_t ticket;
    inference_job job;
    completion done;
  };
  void work();

  std::string name_;
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<item> queue_;
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

} // namespace weaver
