// A simulated card: service times drawn from a configured distribution
// (default: DNNWeaver's YOLOv2 on an FPGA, 13.2 FPS = 75.8 ms per frame), a
// batch speed-up curve, and injectable faults. Its detections are real: the
// CPU engine computes them ("delegate"), or recorded ones are replayed.
//
// sim_model is the pure part (no threads, no clock): tools/bench_pool runs it
// in virtual time against the scheduler; sim_card runs it in real time.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "accel/batch_queue.hpp"
#include "accel/card.hpp"
#include "accel/hls_cycle_model.hpp"

namespace weaver {

/// Faults, counted in jobs the card has taken; -1 = never.
struct sim_faults {
  int64_t fail_after = -1; // then batches fail (card-level error) until repaired
  int64_t hang_after = -1; // then batches never complete until repaired
  int64_t slow_after = -1; // then service times are multiplied by slow_factor
  double slow_factor = 1.0;
  int64_t disappear_after = -1; // then it fails and never probes healthy again
  int64_t recover_after_ms = -1; // a failed / hung card probes healthy this long after
};

/// A card of the weaver_dnn kernel's speed: the mean service time is the
/// cycle model's frame time (accel/hls_cycle_model.hpp) for these layers on
/// this card and PE array, instead of mean_ms.
struct sim_fpga {
  std::string card; // "U50" | "U250"; empty: off
  std::string pe = "32x64"; // the PE array, MxN
  std::vector<hls_cycles::layer_shape> layers; // the network at its input size (hls_cycles::layers_of)
  std::string network; // what the layers are, for the card's details ("nanodet.json 576x448")
};

struct sim_card_options {
  std::string name = "sim0";
  int capacity = 1; // batches at once
  std::string distribution = "lognormal"; // constant | exponential | lognormal | uniform
  double mean_ms = 75.8; // per job at batch 1 (replaced by the cycle model's with fpga.card)
  double cv = 0.1; // coefficient of variation (lognormal, uniform)
  std::vector<double> batch_speedup; // [b-1] = throughput at batch b over batch 1; empty = no batching
  uint64_t seed = 1;
  std::string results = "delegate"; // delegate (CPU engine) | replay (replay_dir) | none
  std::string replay_dir; // MOT-format detections: <dir>/cam<id>.txt
  uint64_t memory_bytes = 8ull << 30;
  sim_faults faults;
  sim_fpga fpga;
};

/// The options with mean_ms from the cycle model when fpga.card is set.
/// Throws std::invalid_argument on an unknown card, a bad PE array or no layers.
sim_card_options with_cycle_model(sim_card_options o);

class sim_model {
public:
  enum class outcome { ok, fail, hang };
  struct verdict {
    outcome what;
    double service_s;
  };

  /// Throws std::invalid_argument on bad options (with_cycle_model's too).
  explicit sim_model(const sim_card_options& o);
  double mean_ms() const { return o_.mean_ms; } // after the cycle model
  int max_batch() const { return static_cast<int>(std::max<size_t>(1, o_.batch_speedup.size())); }
  /// Time of a batch of b jobs over the time of one (b / speed-up).
  double batch_cost(int b) const;
  /// The card takes a batch of b jobs at `now_ms`: its fate and service time.
  verdict take(int b, int64_t now_ms);
  /// A health probe at `now_ms`; repairs the card when its recovery time passed.
  bool probe(int64_t now_ms, std::string* why);
  bool broken() const { return broken_ != outcome::ok; }
  int64_t jobs_taken() const { return jobs_; }

private:
  double sample_s();
  sim_card_options o_;
  std::mt19937_64 rng_;
  int64_t jobs_ = 0;
  outcome broken_ = outcome::ok;
  bool gone_ = false;
  int64_t broken_at_ms_ = 0;
  bool fail_fired_ = false, hang_fired_ = false;
};

class sim_card : public card {
public:
  /// Throws std::invalid_argument on bad options.
  explicit sim_card(sim_card_options o);
  ~sim_card() override;
  sim_card(const sim_card&) = delete;
  sim_card& operator=(const sim_card&) = delete;

  const card_info& info() const override { return info_; }
  void submit(std::vector<card_job> batch, completion done) override;
  bool probe(std::string* why) override;
  double batch_cost(int b) const override { return model_.batch_cost(b); }

private:
  void work();
  std::vector<detection> replayed(uint32_t camera, uint64_t seq);

  sim_card_options o_;
  card_info info_;
  sim_model model_; // guarded by mtx_
  std::mutex mtx_;
  batch_queue queue_;
  std::vector<batch_queue::item> hung_; // batches that will never complete
  std::map<uint32_t, std::map<uint64_t, std::vector<detection>>> replay_;
  std::vector<std::thread> workers_;
};

/// Reads MOT-format detections (frame,id,x,y,w,h,score,...; frame 1-based)
/// into frame -> detections. Throws std::runtime_error naming the file/line.
std::map<uint64_t, std::vector<detection>> read_mot_detections(const std::string& path);

} // namespace weaver
