#include "accel/sim_card.hpp"

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "accel/engine/executor.hpp"

namespace weaver {

namespace {
int64_t now_ms() { return steady_now_ns() / 1'000'000; }
} // namespace

sim_card_options with_cycle_model(sim_card_options o) {
  if (o.fpga.card.empty()) return o;
  try {
    const auto card = hls_cycles::card_named(o.fpga.card);
    const auto pe = hls_cycles::parse_array(o.fpga.pe);
    if (o.fpga.layers.empty()) throw std::invalid_argument("no layers to time");
    o.mean_ms = hls_cycles::frame_ms(o.fpga.layers, pe, card);
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument("sim card " + o.name + ": fpga: " + e.what());
  }
  return o;
}

sim_model::sim_model(const sim_card_options& o) : o_(with_cycle_model(o)), rng_(o.seed) {
  static const char* kinds[] = {"constant", "exponential", "lognormal", "uniform"};
  bool known = false;
  for (auto k : kinds) known = known || o_.distribution == k;
  if (!known)
    throw std::invalid_argument("sim card " + o_.name + ": unknown distribution '" + o_.distribution
                                + "' (known: constant, exponential, lognormal, uniform)");
  if (!(o_.mean_ms > 0)) throw std::invalid_argument("sim card " + o_.name + ": mean_ms must be > 0");
  if (o_.cv < 0) throw std::invalid_argument("sim card " + o_.name + ": cv must be >= 0");
  for (size_t i = 0; i < o_.batch_speedup.size(); ++i)
    if (!(o_.batch_speedup[i] > 0))
      throw std::invalid_argument("sim card " + o_.name + ": batch_speedup values must be > 0");
}

double sim_model::batch_cost(int b) const {
  if (b <= 1 || o_.batch_speedup.empty()) return std::max(b, 1);
  size_t i = std::min(static_cast<size_t>(b), o_.batch_speedup.size()) - 1;
  return b / o_.batch_speedup[i];
}

double sim_model::sample_s() {
  const double m = o_.mean_ms / 1000.0;
  if (o_.distribution == "constant" || o_.cv == 0) return m;
  if (o_.distribution == "exponential") return std::exponential_distribution<double>(1.0 / m)(rng_);
  if (o_.distribution == "uniform") {
    const double half = std::min(m, m * o_.cv * std::sqrt(3.0)); // std = cv * mean
    return std::uniform_real_distribution<double>(m - half, m + half)(rng_);
  }
  // Lognormal with the given mean and coefficient of variation.
  const double s2 = std::log1p(o_.cv * o_.cv);
  return std::lognormal_distribution<double>(std::log(m) - s2 / 2, std::sqrt(s2))(rng_);
}

sim_model::verdict sim_model::take(int b, int64_t t_ms) {
  const int64_t before = jobs_;
  jobs_ += b;
  // "After N jobs": the batch that holds job N+1 is the first affected.
  auto crosses = [&](int64_t n) { return n >= 0 && before <= n && n < jobs_; };
  if (broken_ == outcome::ok) {
    // Each fault fires once, on the batch that takes the card past its count.
    if (crosses(o_.faults.disappear_after)) {
      gone_ = true;
      broken_ = outcome::fail;
      broken_at_ms_ = t_ms;
    } else if (!fail_fired_ && crosses(o_.faults.fail_after)) {
      fail_fired_ = true;
      broken_ = outcome::fail;
      broken_at_ms_ = t_ms;
    } else if (!hang_fired_ && crosses(o_.faults.hang_after)) {
      hang_fired_ = true;
      broken_ = outcome::hang;
      broken_at_ms_ = t_ms;
    }
  }
  if (broken_ != outcome::ok) return {broken_, 0.0};
  double s = sample_s() * batch_cost(b);
  if (o_.faults.slow_after >= 0 && jobs_ > o_.faults.slow_after) s *= o_.faults.slow_factor;
  return {outcome::ok, s};
}

bool sim_model::probe(int64_t t_ms, std::string* why) {
  if (broken_ == outcome::ok) return true;
  if (gone_) {
    if (why) *why = "device disappeared";
    return false;
  }
  if (o_.faults.recover_after_ms < 0 || t_ms - broken_at_ms_ < o_.faults.recover_after_ms) {
    if (why) *why = broken_ == outcome::hang ? "device hung" : "device failed";
    return false;
  }
  broken_ = outcome::ok;
  return true;
}

std::map<uint64_t, std::vector<detection>> read_mot_detections(const std::string& path) {
  std::ifstream in{path};
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::map<uint64_t, std::vector<detection>> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] == '#') continue;
    for (auto& ch : line)
      if (ch == ',') ch = ' ';
    std::istringstream ss{line};
    double frame, id;
    detection d;
    if (!(ss >> frame >> id >> d.bbox.x >> d.bbox.y >> d.bbox.w >> d.bbox.h >> d.score) || frame < 1)
      throw std::runtime_error(path + ":" + std::to_string(n) + ": expected frame,id,x,y,w,h,score");
    d.class_id = 0;
    out[static_cast<uint64_t>(frame)].push_back(d);
  }
  return out;
}

sim_card::sim_card(sim_card_options o) : o_(with_cycle_model(std::move(o))), model_(o_) {
  if (o_.capacity < 1) throw std::invalid_argument("sim card " + o_.name + ": capacity must be >= 1");
  if (o_.results != "delegate" && o_.results != "replay" && o_.results != "none")
    throw std::invalid_argument("sim card " + o_.name + ": results '" + o_.results
                                + "' (known: delegate, replay, none)");
  if (o_.results == "replay" && o_.replay_dir.empty())
    throw std::invalid_argument("sim card " + o_.name + ": results: replay needs replay_dir");
  info_.name = o_.name;
  info_.kind = "sim";
  info_.device = "sim";
  info_.capacity = o_.capacity;
  info_.max_batch = model_.max_batch();
  info_.memory_bytes = o_.memory_bytes;
  info_.nominal_service_s = o_.mean_ms / 1000.0;
  std::ostringstream d;
  d << o_.distribution << " mean " << o_.mean_ms << " ms cv " << o_.cv << ", results " << o_.results;
  if (!o_.fpga.card.empty())
    d << ", mean from the weaver_dnn cycle model: " << o_.fpga.card << " " << o_.fpga.pe << " PEs, "
      << (o_.fpga.network.empty() ? std::to_string(o_.fpga.layers.size()) + " layers" : o_.fpga.network);
  info_.details = d.str();
  for (int i = 0; i < o_.capacity; ++i) workers_.emplace_back([this] { work(); });
}

sim_card::~sim_card() {
  queue_.close(false);
  for (auto& w : workers_) w.join();
}

void sim_card::submit(std::vector<card_job> batch, completion done) { queue_.push(std::move(batch), std::move(done)); }

bool sim_card::probe(std::string* why) {
  std::lock_guard<std::mutex> lock{mtx_};
  return model_.probe(now_ms(), why);
}

std::vector<detection> sim_card::replayed(uint32_t camera, uint64_t seq) {
  // Called with mtx_ held: the replay cache is shared by the workers.
  auto it = replay_.find(camera);
  if (it == replay_.end())
    it = replay_.emplace(camera, read_mot_detections(o_.replay_dir + "/cam" + std::to_string(camera) + ".txt")).first;
  auto f = it->second.find(seq + 1);
  return f == it->second.end() ? std::vector<detection>{} : f->second;
}

void sim_card::work() {
  engine::workspace ws; // this worker's engine buffers (delegate)
  batch_queue::item it;
  while (queue_.pop(it)) {
    sim_model::verdict v{};
    auto start = std::chrono::steady_clock::now();
    {
      std::lock_guard<std::mutex> lock{mtx_};
      v = model_.take(static_cast<int>(it.batch.size()), now_ms());
      if (v.what == sim_model::outcome::hang) {
        hung_.push_back(std::move(it)); // never completes; freed with the card
        continue;
      }
    }
    batch_result r;
    r.card = o_.name;
    if (v.what == sim_model::outcome::fail) {
      r.error = "simulated card failure";
      it.done(std::move(r));
      continue;
    }
    r.ok = true;
    for (auto& j : it.batch) {
      inference_result jr;
      if (o_.results == "delegate") {
        jr = run_job(j.job, ws);
      } else {
        auto& f = *j.job.input;
        jr.batch.camera_id = f.camera_id;
        jr.batch.seq = f.seq;
        jr.batch.capture_ms = f.capture_ms;
        jr.batch.width = f.image.cols;
        jr.batch.height = f.image.rows;
        jr.ok = true;
        if (o_.results == "replay") {
          try {
            std::lock_guard<std::mutex> lock{mtx_};
            jr.batch.detections = replayed(f.camera_id, f.seq);
          } catch (const std::exception& e) {
            jr.ok = false;
            jr.error = e.what();
          }
        }
      }
      jr.ticket = j.ticket;
      jr.card = o_.name;
      r.results.push_back(std::move(jr));
    }
    // The card's time is the model's, or the real work's when that is longer.
    auto due = start
      + std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(v.service_s));
    if (queue_.closed_before(due)) return;
    r.service_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    it.done(std::move(r));
  }
}

} // namespace weaver
