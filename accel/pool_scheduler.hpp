// Scheduling of inference jobs across cards, without CAF (unit-tested
// directly). Per-camera FIFO queues; at most one job per camera in flight, so
// each camera's frames are detected in order (stateful detectors need it);
// cameras are served round-robin so none starves; a job goes to the free card
// with the earliest expected completion (EWMA service time x (busy + 1)).
// Realtime mode drops jobs older than a maximum age instead of running them.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

namespace weaver {

class pool_scheduler {
public:
  struct dispatch {
    uint64_t ticket;
    size_t card;
  };

  /// Adds a card that runs `capacity` jobs at once; returns its index.
  size_t add_card(std::string name, int capacity, double initial_service_s = 0.05);

  void enqueue(uint64_t ticket, uint32_t camera, int64_t admitted_ns);

  /// Assigns queued jobs to free cards. With max_age_ns > 0, jobs admitted
  /// more than max_age_ns before now_ns are dropped and listed in `stale`.
  std::vector<dispatch> schedule(int64_t now_ns, int64_t max_age_ns,
                                 std::vector<uint64_t>* stale = nullptr);

  /// A job finished on `card` after `service_s` seconds.
  void complete(uint64_t ticket, double service_s);

  size_t queued() const;
  size_t queued(uint32_t camera) const;
  size_t in_flight() const { return running_.size(); }
  double ewma_service_s(size_t card) const { return cards_.at(card).ewma_s; }
  const std::string& card_name(size_t card) const { return cards_.at(card).name; }
  size_t cards() const { return cards_.size(); }

private:
  struct card_slot {
    std::string name;
    int capacity;
    int busy = 0;
    double ewma_s;
  };
  struct queued_job {
    uint64_t ticket;
    int64_t admitted_ns;
  };
  struct running_job {
    uint32_t camera;
    size_t card;
  };
  int pick_card() const;

  std::vector<card_slot> cards_;
  std::map<uint32_t, std::deque<queued_job>> queues_;
  std::map<uint32_t, bool> busy_camera_;
  std::map<uint64_t, running_job> running_;
  uint32_t next_camera_ = 0;   // round-robin cursor: the camera served first next time
};

} // namespace weaver
