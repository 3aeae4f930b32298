// The batches submitted to a card and not yet started, shared by the card's
// worker threads (every backend has the same hand-over).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "accel/card.hpp"

namespace weaver {

class batch_queue {
public:
  struct item {
    std::vector<card_job> batch;
    card::completion done;
  };

  void push(std::vector<card_job> batch, card::completion done) {
    {
      std::lock_guard<std::mutex> lock{mtx_};
      items_.push_back(item{std::move(batch), std::move(done)});
    }
    cv_.notify_one();
  }

  /// Blocks for the next batch; false once closed (after the queued ones
  /// when closed with drain, so that each of their completions runs).
  bool pop(item& out) {
    std::unique_lock<std::mutex> lock{mtx_};
    cv_.wait(lock, [this] { return closed_ || !items_.empty(); });
    if (items_.empty() || (closed_ && !drain_)) return false;
    out = std::move(items_.front());
    items_.pop_front();
    return true;
  }

  /// Waits until `t` unless closed first; true when closed.
  bool closed_before(std::chrono::steady_clock::time_point t) {
    std::unique_lock<std::mutex> lock{mtx_};
    return cv_.wait_until(lock, t, [this] { return closed_; });
  }

  void close(bool drain) {
    {
      std::lock_guard<std::mutex> lock{mtx_};
      closed_ = true;
      drain_ = drain;
    }
    cv_.notify_all();
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::deque<item> items_;
  bool closed_ = false, drain_ = false;
};

} // namespace weaver
