// bench_pool: the card pool's scheduler at scale, in virtual time.
//
// Cameras send frames at a fixed rate (random phase) to one pool_scheduler;
// sim cards (sim_model: lognormal service times, cv 0.1, mean 75.8 ms =
// DNNWeaver's 13.2 FPS for YOLOv2) finish them. Time is simulated, so 64
// cards x 600 cameras x a minute runs in seconds; the scheduler is the real
// code and the time spent inside it is measured on the wall clock.
// Earliest-completion placement and plain round-robin see the same arrivals
// and the same service-time draws.
//
// Per scenario: demand / capacity, throughput as a share of capacity, p50 /
// p99 latency (admission to completion), drop rate with reasons, mean batch,
// scheduler time per frame. A benchmark, not a test: it prints figures.
//
// With --fpga U50|U250 the cards' mean is instead the weaver_dnn kernel's
// frame time by its cycle model (accel/hls_cycle_model.hpp) for --model at
// --input on a --pe array: the pool with FPGA cards of a realistic speed.
//
// Usage: bench_pool [--seconds S] [--fps F] [--max-age-ms A] [--queue Q] [--in-flight N] [--quick]
//                   [--fpga U50 [--pe 32x64] [--model tools/data/models/nanodet.json] [--input 576x448]]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <CLI/CLI.hpp>

#include "accel/pool_scheduler.hpp"
#include "accel/sim_card.hpp"

using namespace weaver;

namespace {

constexpr int64_t ms = 1'000'000;

struct card_kind {
  double mean_ms;
  std::vector<double> speedup; // batch curve; empty = no batching
};

struct options {
  double seconds = 60;
  double fps = 10;
  int64_t max_age_ms = 500; // a 10 FPS frame older than this is worthless
  size_t queue = 4; // per camera, as the detector's default queue
  int in_flight = 4; // per camera: DNN detectors are stateless, frames run in parallel
};

struct result {
  double demand_fps = 0, capacity_fps = 0, throughput_fps = 0;
  double p50_ms = 0, p99_ms = 0, mean_batch = 0, sched_us = 0;
  uint64_t arrived = 0, done = 0, late = 0; // late: completed past the max age
  std::map<std::string, uint64_t> drops;
  uint64_t dropped() const {
    uint64_t n = 0;
    for (auto& [_, v] : drops) n += v;
    return n;
  }
};

double capacity_of(const std::vector<card_kind>& cards) {
  double c = 0;
  for (auto& k : cards) c += (k.speedup.empty() ? 1.0 : k.speedup.back()) * 1000.0 / k.mean_ms;
  return c;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

result run(const std::vector<card_kind>& cards, int cameras, placement policy, const options& opt, uint64_t seed) {
  using clock = std::chrono::steady_clock;
  scheduler_options so;
  so.policy = policy;
  so.max_age_ns = opt.max_age_ms * ms;
  so.queue_per_camera = opt.queue;
  so.max_in_flight_per_camera = opt.in_flight;
  pool_scheduler s{so};
  std::vector<sim_model> models;
  std::vector<int64_t> free_at(cards.size(), 0); // a card runs one batch at a time
  for (size_t i = 0; i < cards.size(); ++i) {
    sim_card_options o;
    o.name = "sim" + std::to_string(i);
    o.mean_ms = cards[i].mean_ms;
    o.batch_speedup = cards[i].speedup;
    o.seed = seed * 1000 + i;
    models.emplace_back(o);
    pool_scheduler::card_spec spec;
    spec.name = o.name;
    spec.max_batch = models.back().max_batch();
    spec.initial_service_s = o.mean_ms / 1000.0;
    for (int b = 1; b <= spec.max_batch; ++b) spec.batch_cost.push_back(models.back().batch_cost(b));
    s.add_card(spec);
  }
  struct event {
    int64_t t;
    int kind; // 0 completion, 1 arrival, 2 expiry tick
    uint64_t id; // completion: batch; arrival: camera
    bool operator>(const event& o) const { return t != o.t ? t > o.t : kind > o.kind; }
  };
  struct running {
    double service_s;
    std::vector<uint64_t> tickets;
  };
  std::priority_queue<event, std::vector<event>, std::greater<>> ev;
  std::mt19937_64 rng{seed};
  const int64_t period = static_cast<int64_t>(1e9 / opt.fps);
  for (int c = 0; c < cameras; ++c)
    ev.push(
      {static_cast<int64_t>(std::uniform_real_distribution<double>(0, 1)(rng) * period), 1, static_cast<uint64_t>(c)});
  ev.push({10 * ms, 2, 0});
  const int64_t horizon = static_cast<int64_t>(opt.seconds * 1e9);
  const int64_t warmup = horizon / 10; // the first tenth fills the pipeline: not counted
  std::vector<int64_t> admitted; // by ticket
  std::unordered_map<uint64_t, running> batches;
  std::vector<double> latency_ms;
  std::vector<pool_scheduler::drop> drops;
  result r;
  double sched_ns = 0;
  uint64_t n_batches = 0, n_batch_jobs = 0, all_arrived = 0;
  auto timed = [&](auto&& f) {
    auto t0 = clock::now();
    f();
    sched_ns += std::chrono::duration<double, std::nano>(clock::now() - t0).count();
    for (auto& d : drops)
      if (admitted[d.ticket] >= warmup) r.drops[d.reason]++;
    drops.clear();
  };
  auto place = [&](int64_t now) {
    std::vector<pool_scheduler::dispatch> plan;
    timed([&] { plan = s.schedule(now, &drops); });
    for (auto& d : plan) {
      auto v = models[d.card].take(static_cast<int>(d.jobs.size()), now / ms);
      running run_rec{v.service_s, {}};
      for (auto& j : d.jobs) run_rec.tickets.push_back(j.ticket);
      batches.emplace(d.batch, std::move(run_rec));
      // A batch queued on a busy card (depth > 1) starts when the card frees.
      int64_t start = std::max(now, free_at[d.card]);
      free_at[d.card] = start + static_cast<int64_t>(v.service_s * 1e9);
      ev.push({free_at[d.card], 0, d.batch});
      n_batches++;
      n_batch_jobs += d.jobs.size();
    }
  };
  while (!ev.empty()) {
    auto e = ev.top();
    ev.pop();
    if (e.t > horizon) break;
    if (e.kind == 1) {
      uint64_t ticket = admitted.size();
      admitted.push_back(e.t);
      all_arrived++;
      if (e.t >= warmup) r.arrived++;
      timed([&] { s.enqueue(ticket, static_cast<uint32_t>(e.id), e.t, &drops); });
      ev.push({e.t + period, 1, e.id});
      place(e.t);
    } else if (e.kind == 0) {
      auto it = batches.find(e.id);
      timed([&] { s.complete(e.id, it->second.service_s, e.t); });
      for (auto t : it->second.tickets) {
        if (e.t >= warmup) r.done++; // throughput: completions in the window
        if (admitted[t] < warmup) continue;
        latency_ms.push_back(static_cast<double>(e.t - admitted[t]) / 1e6);
        if (e.t - admitted[t] > opt.max_age_ms * ms) r.late++;
      }
      batches.erase(it);
      place(e.t);
    } else {
      timed([&] { s.expire(e.t, &drops); });
      ev.push({e.t + 10 * ms, 2, 0});
    }
  }
  const double counted_s = static_cast<double>(horizon - warmup) / 1e9;
  r.capacity_fps = capacity_of(cards);
  r.demand_fps = cameras * opt.fps;
  r.throughput_fps = static_cast<double>(r.done) / counted_s;
  r.p50_ms = percentile(latency_ms, 0.50);
  r.p99_ms = percentile(latency_ms, 0.99);
  r.mean_batch = n_batches ? static_cast<double>(n_batch_jobs) / static_cast<double>(n_batches) : 0;
  r.sched_us = all_arrived ? sched_ns / 1000.0 / static_cast<double>(all_arrived) : 0;
  return r;
}

void header() {
  std::printf("%-6s %6s %5s %-5s %8s %8s %8s %8s %7s %7s %9s  %s\n", "cards", "cams", "load", "sched", "tput%cap",
              "p50 ms", "p99 ms", "drop %", "late %", "batch", "sched us", "drops by reason");
}

void row(size_t cards, int cams, const char* policy, const result& r) {
  std::string reasons;
  for (auto& [k, v] : r.drops) reasons += k + "=" + std::to_string(v) + " ";
  auto pct = [&](uint64_t n) {
    return r.arrived ? 100.0 * static_cast<double>(n) / static_cast<double>(r.arrived) : 0.0;
  };
  std::printf("%-6zu %6d %5.2f %-5s %7.1f%% %8.1f %8.1f %7.2f%% %6.2f%% %7.2f %9.2f  %s\n", cards, cams,
              r.demand_fps / r.capacity_fps, policy, 100.0 * r.throughput_fps / r.capacity_fps, r.p50_ms, r.p99_ms,
              pct(r.dropped()), pct(r.late), r.mean_batch, r.sched_us, reasons.c_str());
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  options opt;
  bool quick = false;
  CLI::App app{"The card pool's scheduler at scale, in virtual time."};
  app.add_option("--seconds", opt.seconds, "Simulated seconds per run");
  app.add_option("--fps", opt.fps, "Frames per second per camera");
  app.add_option("--max-age-ms", opt.max_age_ms, "Frames older than this are dropped");
  app.add_option("--queue", opt.queue, "Queue per camera");
  app.add_option("--in-flight", opt.in_flight, "Frames in flight per camera");
  app.add_flag("--quick", quick, "A short sweep");
  std::string fpga, pe = "32x64", model = "tools/data/models/nanodet.json", input = "576x448";
  app.add_option("--fpga", fpga, "Cards of the weaver_dnn kernel's speed on this Alveo card (U50, U250)");
  app.add_option("--pe", pe, "Their PE array, MxN");
  app.add_option("--model", model, "The network they run (TF.js / ONNX model or Darknet cfg)");
  app.add_option("--input", input, "Its input size, WxH");
  CLI11_PARSE(app, argc, argv);
  if (quick) opt.seconds = 10;
  double fpga_ms = 75.8; // DNNWeaver, YOLOv2: 13.2 FPS
  if (!fpga.empty()) {
    try {
      sim_card_options o;
      o.fpga.card = fpga;
      o.fpga.pe = pe;
      int w = 0, h = 0;
      if (std::sscanf(input.c_str(), "%dx%d", &w, &h) != 2 || w < 32 || h < 32)
        throw std::invalid_argument("--input '" + input + "': expected WxH");
      o.fpga.layers = hls_cycles::layers_of(model, w, h);
      fpga_ms = sim_model{o}.mean_ms();
      std::printf("cards: the weaver_dnn cycle model, %s with %s PEs, %s at %s: %.2f ms per frame\n", fpga.c_str(),
                  pe.c_str(), model.c_str(), input.c_str(), fpga_ms);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "bench_pool: %s\n", e.what());
      return 2;
    }
  }
  std::printf(
    "bench_pool: %.0f s simulated per run, cameras at %.0f FPS, max frame age %lld ms, "
    "queue %zu and %d in flight per camera;\ncards: lognormal service time mean %.1f ms, cv 0.1 "
    "(capacity %.1f frames/s per card)\n\n",
    opt.seconds, opt.fps, static_cast<long long>(opt.max_age_ms), opt.queue, opt.in_flight, fpga_ms, 1000.0 / fpga_ms);

  // 1. Homogeneous sweep: cards x cameras, both policies.
  std::printf("== homogeneous cards (no batching): earliest completion (ec) vs round-robin (rr)\n");
  header();
  double worst_over_share = 1e9, worst_p99_ratio = 0, worst_sched_64 = 0;
  for (int n : {1, 2, 4, 8, 16, 64}) {
    std::vector<card_kind> cards(static_cast<size_t>(n), card_kind{fpga_ms, {}});
    const double cap = capacity_of(cards);
    std::vector<int> cams_list = {10, 30, 60, 100, 200, 300, 600};
    // Also the camera counts that load this pool to ~50% and ~90%.
    for (double load : {0.5, 0.9}) {
      int c = static_cast<int>(std::floor(load * cap / opt.fps));
      if (c >= 1) cams_list.push_back(c);
    }
    std::sort(cams_list.begin(), cams_list.end());
    cams_list.erase(std::unique(cams_list.begin(), cams_list.end()), cams_list.end());
    for (int cams : cams_list) {
      if (quick && cams > 300 && n < 64) continue;
      for (auto [pol, label] :
           {std::pair{placement::earliest_completion, "ec"}, std::pair{placement::round_robin, "rr"}}) {
        auto r = run(cards, cams, pol, opt, 7);
        row(cards.size(), cams, label, r);
        if (pol != placement::earliest_completion) continue;
        const double load = r.demand_fps / r.capacity_fps;
        if (load > 1.05) worst_over_share = std::min(worst_over_share, r.throughput_fps / r.capacity_fps);
        if (load <= 0.9) worst_p99_ratio = std::max(worst_p99_ratio, r.p99_ms / fpga_ms);
        if (n == 64) worst_sched_64 = std::max(worst_sched_64, r.sched_us);
      }
    }
  }

  // 2. Heterogeneous cards: half at the FPGA's speed, a quarter 2x and a
  // quarter 4x slower (older cards, CPU groups).
  std::printf("\n== heterogeneous cards (1/2 at %.1f ms, 1/4 at 2x, 1/4 at 4x)\n", fpga_ms);
  header();
  int hetero_wins = 0, hetero_runs = 0;
  for (int n : {4, 8, 16, 64}) {
    std::vector<card_kind> cards;
    for (int i = 0; i < n; ++i) cards.push_back({i < n / 2 ? fpga_ms : i < 3 * n / 4 ? 2 * fpga_ms : 4 * fpga_ms, {}});
    const double cap = capacity_of(cards);
    for (double load : {0.5, 0.9, 1.2, 2.0}) {
      int cams = std::max(1, static_cast<int>(std::lround(load * cap / opt.fps)));
      auto ec = run(cards, cams, placement::earliest_completion, opt, 11);
      auto rr = run(cards, cams, placement::round_robin, opt, 11);
      row(cards.size(), cams, "ec", ec);
      row(cards.size(), cams, "rr", rr);
      hetero_runs++;
      // For real time a frame delivered past its max age is lost too.
      const uint64_t ec_lost = ec.dropped() + ec.late, rr_lost = rr.dropped() + rr.late;
      if (ec_lost < rr_lost || (ec_lost == 0 && rr_lost == 0)) hetero_wins++;
    }
  }

  // 3. Batching cards (speed-up 1, 1.8, 2.4, 2.8 at batch 1..4) under load.
  std::printf("\n== batching cards (throughput x1.8 at batch 2, x2.4 at 3, x2.8 at 4)\n");
  header();
  for (int n : {4, 16}) {
    std::vector<card_kind> batching(static_cast<size_t>(n), card_kind{fpga_ms, {1.0, 1.8, 2.4, 2.8}});
    std::vector<card_kind> single(static_cast<size_t>(n), card_kind{fpga_ms, {}});
    for (double load : {0.5, 0.9, 1.5}) {
      // Load relative to the batching pool's capacity.
      int cams = std::max(1, static_cast<int>(std::lround(load * capacity_of(batching) / opt.fps)));
      auto b = run(batching, cams, placement::earliest_completion, opt, 13);
      row(batching.size(), cams, "ec+b", b);
      auto u = run(single, cams, placement::earliest_completion, opt, 13);
      std::printf("        (same cameras on non-batching cards: %.0f frames/s done vs %.0f batching)\n",
                  u.throughput_fps, b.throughput_fps);
    }
  }

  std::printf("\ntargets:\n");
  std::printf("  throughput when demand exceeds capacity: worst %.1f%% of capacity (target >= 95%%)\n",
              100 * worst_over_share);
  std::printf("  p99 latency at <= 90%% load: worst %.2fx the mean service time (target <= 3x)\n", worst_p99_ratio);
  std::printf("  scheduler time per frame at 64 cards: worst %.2f us (target <= 20 us)\n", worst_sched_64);
  std::printf(
    "  heterogeneous cards: earliest completion lost (dropped + late) fewer frames than "
    "round-robin (or both none) in %d of %d runs\n",
    hetero_wins, hetero_runs);
  return 0;
}
