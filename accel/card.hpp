// The card interface: an accelerator that runs inference jobs asynchronously.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "accel/job.hpp"

namespace weaver {

class card {
public:
  using completion = std::function<void(inference_result)>;
  virtual ~card() = default;
  virtual const std::string& name() const = 0;
  virtual std::string kind() const = 0;
  /// Jobs it runs at once.
  virtual int capacity() const = 0;
  /// Queues a job; `done` runs on the card's own thread when it finishes.
  virtual void submit(uint64_t ticket, inference_job job, completion done) = 0;
};

} // namespace weaver
